using System.Buffers;

namespace Xen.Store.Wire;

/// <summary>
/// Cuts whole messages out of a byte stream that may be split anywhere (socket reads, ring wrap-around).
/// The length limit is checked as soon as the header is complete, before any payload is buffered.
/// </summary>
public static class XsFrameReader
{
    /// <summary>
    /// Takes one complete message off the front of <paramref name="buffer"/>. On success, <paramref name="buffer"/>
    /// is advanced past it and <paramref name="payload"/> is a slice of the original (no copy).
    /// </summary>
    /// <returns><see langword="false"/> when the message is not complete yet (<paramref name="buffer"/> is unchanged).</returns>
    /// <exception cref="XenStoreProtocolException">The header announces a payload over 4096 bytes.</exception>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out XsHeader header, out ReadOnlySequence<byte> payload)
    {
        if (!XsHeader.TryRead(buffer, out header))
        {
            payload = default;
            return false;
        }

        if (header.Length > XsHeader.PayloadMax)
        {
            throw new XenStoreProtocolException(
                $"A {header.Type} message announces {header.Length} payload bytes; XENSTORE_PAYLOAD_MAX is {XsHeader.PayloadMax}.");
        }

        long total = XsHeader.HeaderLength + header.Length;
        if (buffer.Length < total)
        {
            payload = default;
            return false;
        }

        payload = buffer.Slice(XsHeader.HeaderLength, header.Length);
        buffer = buffer.Slice(total);
        return true;
    }

    /// <summary>
    /// The number of bytes still needed to complete the message at the front of <paramref name="buffer"/>
    /// (at least 1 while even the header is incomplete), or 0 when a whole message is there.
    /// </summary>
    /// <exception cref="XenStoreProtocolException">The header announces a payload over 4096 bytes.</exception>
    public static long BytesNeeded(in ReadOnlySequence<byte> buffer)
    {
        if (!XsHeader.TryRead(buffer, out XsHeader header))
        {
            return XsHeader.HeaderLength - buffer.Length;
        }

        if (header.Length > XsHeader.PayloadMax)
        {
            throw new XenStoreProtocolException(
                $"A {header.Type} message announces {header.Length} payload bytes; XENSTORE_PAYLOAD_MAX is {XsHeader.PayloadMax}.");
        }

        return Math.Max(0, XsHeader.HeaderLength + header.Length - buffer.Length);
    }
}
