using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Xen.Store.Server.Durability;

/// <summary>
/// One record as it lies in a journal segment or a snapshot: a 16-byte header (payload length, CRC-32C, sequence
/// number, all little-endian) and the payload. The checksum covers the sequence number and the payload, so a record
/// cut short by a crash, or overwritten by garbage, is told from a whole one and never applied.
/// </summary>
internal static class JournalFrame
{
    /// <summary><c>u32 length; u32 crc32c; u64 lsn</c>.</summary>
    public const int HeaderLength = 16;

    /// <summary>The largest payload accepted when reading (a snapshot of a very large store included): anything larger is damage.</summary>
    public const int MaxPayload = 1 << 30;

    /// <summary>Writes the header of a record whose payload already sits right after it in <paramref name="frame"/>.</summary>
    public static void Seal(Span<byte> frame, ulong lsn)
    {
        int length = frame.Length - HeaderLength;
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)length);
        BinaryPrimitives.WriteUInt64LittleEndian(frame[8..], lsn);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[4..], Checksum(frame[8..]));
    }

    /// <summary>
    /// Reads the record at the start of <paramref name="data"/>: false when there is no whole, intact record there
    /// (the data ends inside it, or the checksum does not match).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out ulong lsn, out ReadOnlySpan<byte> payload, out int frameLength)
    {
        lsn = 0;
        payload = default;
        frameLength = 0;
        if (data.Length < HeaderLength)
        {
            return false;
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (length > MaxPayload || length > data.Length - HeaderLength)
        {
            return false;
        }

        ReadOnlySpan<byte> covered = data.Slice(8, 8 + (int)length);
        if (Checksum(covered) != BinaryPrimitives.ReadUInt32LittleEndian(data[4..]))
        {
            return false;
        }

        lsn = BinaryPrimitives.ReadUInt64LittleEndian(data[8..]);
        payload = covered[8..];
        frameLength = HeaderLength + (int)length;
        return true;
    }

    /// <summary>CRC-32C (Castagnoli), with the processor's instruction where there is one.</summary>
    public static uint Checksum(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong w in words)
        {
            crc = BitOperations.Crc32C(crc, BitConverter.IsLittleEndian ? w : BinaryPrimitives.ReverseEndianness(w));
        }

        foreach (byte b in data[(words.Length * 8)..])
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }
}
