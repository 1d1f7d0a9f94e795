using System.Buffers;

namespace Xen.Store.Wire;

/// <summary>
/// The one place that cuts xenstore messages out of a byte stream, which socket reads and ring wrap-around split
/// anywhere. The length limit is checked as soon as the header is complete, before any payload is buffered, and
/// reported as a result (<see cref="XsFrameStatus.Oversized"/>), not thrown: what to do with a peer that breaks the
/// framing is the caller's choice (a server drops the connection, a client fails the request it concerns).
/// </summary>
public static class XsFrameReader
{
    /// <summary>Looks at the message at the front of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">Bytes received and not yet consumed.</param>
    /// <param name="header">The message's header when the result is <see cref="XsFrameStatus.Frame"/> or <see cref="XsFrameStatus.Oversized"/>; default otherwise.</param>
    /// <returns>
    /// <see cref="XsFrameStatus.Frame"/> when a whole message is there (its payload is
    /// <c>buffer.Slice(XsHeader.HeaderLength, (int)header.Length)</c> and it takes <see cref="XsHeader.FrameLength"/> bytes);
    /// <see cref="XsFrameStatus.NeedMore"/>; or <see cref="XsFrameStatus.Oversized"/>.
    /// </returns>
    public static XsFrameStatus Read(ReadOnlySpan<byte> buffer, out XsHeader header)
    {
        if (!XsHeader.TryRead(buffer, out header))
        {
            return XsFrameStatus.NeedMore;
        }

        return Classify(header, buffer.Length);
    }

    /// <summary>Looks at the message at the front of a sequence that may be split anywhere.</summary>
    /// <inheritdoc cref="Read(ReadOnlySpan{byte}, out XsHeader)"/>
    public static XsFrameStatus Read(in ReadOnlySequence<byte> buffer, out XsHeader header)
    {
        if (!XsHeader.TryRead(buffer, out header))
        {
            return XsFrameStatus.NeedMore;
        }

        return Classify(header, buffer.Length);
    }

    /// <summary>
    /// Takes the message at the front of <paramref name="buffer"/> when it is whole: <paramref name="buffer"/> is then
    /// advanced past it and <paramref name="payload"/> is a slice of the original (no copy). On any other result
    /// <paramref name="buffer"/> is unchanged.
    /// </summary>
    /// <inheritdoc cref="Read(ReadOnlySpan{byte}, out XsHeader)"/>
    public static XsFrameStatus Take(ref ReadOnlySequence<byte> buffer, out XsHeader header, out ReadOnlySequence<byte> payload)
    {
        XsFrameStatus status = Read(buffer, out header);
        if (status != XsFrameStatus.Frame)
        {
            payload = default;
            return status;
        }

        payload = buffer.Slice(XsHeader.HeaderLength, header.Length);
        buffer = buffer.Slice(header.FrameLength);
        return status;
    }

    /// <summary>
    /// The number of bytes still needed to complete the message at the front of <paramref name="buffer"/> (at least 1
    /// while even the header is incomplete), 0 when a whole message is there, or -1 when the header announces a payload
    /// over <see cref="XsHeader.PayloadMax"/>.
    /// </summary>
    public static int BytesNeeded(ReadOnlySpan<byte> buffer) => Read(buffer, out XsHeader header) switch
    {
        XsFrameStatus.Frame => 0,
        XsFrameStatus.Oversized => -1,
        _ => buffer.Length < XsHeader.HeaderLength ? XsHeader.HeaderLength - buffer.Length : header.FrameLength - buffer.Length,
    };

    /// <summary>The message that <paramref name="header"/> starts, described for an error: "A WRITE message announces 5000 payload bytes; ...".</summary>
    public static string DescribeOversized(XsHeader header) =>
        $"A {header.Type} message announces {header.Length} payload bytes; XENSTORE_PAYLOAD_MAX is {XsHeader.PayloadMax}.";

    private static XsFrameStatus Classify(XsHeader header, long available) =>
        header.Length > XsHeader.PayloadMax ? XsFrameStatus.Oversized
        : available < header.FrameLength ? XsFrameStatus.NeedMore
        : XsFrameStatus.Frame;
}
