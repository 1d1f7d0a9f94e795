using System.Buffers;
using System.Buffers.Binary;

namespace Xen.Store.Wire;

/// <summary>
/// <c>struct xsd_sockmsg</c>: the 16-byte header in front of every xenstore message, both ways.
/// </summary>
/// <remarks>
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                          type (u32 LE)                        |
/// |                         req_id (u32 LE)                       |  echoed in the reply
/// |                          tx_id (u32 LE)                       |  0 outside a transaction
/// |                           len (u32 LE)                        |  payload bytes, at most 4096
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   payload (len bytes) ...
/// </code>
/// </remarks>
/// <param name="Type">The message type.</param>
/// <param name="RequestId">The request id, echoed in the reply (0 in watch events).</param>
/// <param name="TransactionId">The transaction id, or 0.</param>
/// <param name="Length">The payload length.</param>
public readonly record struct XsHeader(XsMessageType Type, uint RequestId, uint TransactionId, uint Length)
{
    /// <summary>The header's size on the wire.</summary>
    public const int HeaderLength = 16;

    /// <summary><c>XENSTORE_PAYLOAD_MAX</c>: the largest payload either side may send.</summary>
    public const int PayloadMax = 4096;

    /// <summary>The largest message on the wire: header plus the largest payload.</summary>
    public const int MessageMax = HeaderLength + PayloadMax;

    /// <summary>
    /// The bytes of the whole message this header starts (16 + <see cref="Length"/>). Meaningful only once
    /// <see cref="XsFrameReader"/> has checked the length limit.
    /// </summary>
    public int FrameLength => HeaderLength + (int)Math.Min(Length, (uint)PayloadMax + 1);

    /// <summary>Reads a header from the first 16 bytes. Does not check the length limit (see <see cref="XsFrameReader"/>).</summary>
    /// <returns><see langword="false"/> when fewer than 16 bytes are given.</returns>
    public static bool TryRead(ReadOnlySpan<byte> source, out XsHeader header)
    {
        if (source.Length < HeaderLength)
        {
            header = default;
            return false;
        }

        header = new XsHeader(
            (XsMessageType)BinaryPrimitives.ReadUInt32LittleEndian(source),
            BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[12..]));
        return true;
    }

    /// <summary>Reads a header from the first 16 bytes of a sequence that may be split anywhere.</summary>
    /// <returns><see langword="false"/> when fewer than 16 bytes are given.</returns>
    public static bool TryRead(in ReadOnlySequence<byte> source, out XsHeader header)
    {
        if (source.FirstSpan.Length >= HeaderLength)
        {
            return TryRead(source.FirstSpan, out header);
        }

        if (source.Length < HeaderLength)
        {
            header = default;
            return false;
        }

        Span<byte> bytes = stackalloc byte[HeaderLength];
        source.Slice(0, HeaderLength).CopyTo(bytes);
        return TryRead(bytes, out header);
    }

    /// <summary>Writes the header into the first 16 bytes of <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The destination is shorter than 16 bytes.</exception>
    public void Write(Span<byte> destination)
    {
        if (destination.Length < HeaderLength)
        {
            throw new ArgumentException("A xenstore header needs 16 bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)Type);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], RequestId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], TransactionId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], Length);
    }
}
