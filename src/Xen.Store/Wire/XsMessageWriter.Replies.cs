namespace Xen.Store.Wire;

/// <summary>
/// The server's side of message writing: replies and watch events, each laid out once into an array of exactly its
/// size, because a server queues each message on its connection until the transport takes it. Strings are written
/// by <see cref="XsText"/>'s server rule (Latin1: a guest's bytes go back exactly as they came).
/// </summary>
public static partial class XsMessageWriter
{
    /// <summary>One whole message holding <paramref name="payload"/>.</summary>
    /// <exception cref="ArgumentException">The payload exceeds 4096 bytes.</exception>
    internal static byte[] Message(XsMessageType type, uint requestId, uint transactionId, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > XsHeader.PayloadMax)
        {
            throw new ArgumentException($"A payload of {payload.Length} bytes exceeds XENSTORE_PAYLOAD_MAX ({XsHeader.PayloadMax}).", nameof(payload));
        }

        byte[] m = new byte[XsHeader.HeaderLength + payload.Length];
        new XsHeader(type, requestId, transactionId, (uint)payload.Length).Write(m);
        payload.CopyTo(m.AsSpan(XsHeader.HeaderLength));
        return m;
    }

    /// <summary>One whole message whose payload is <paramref name="text"/> and a NUL (an error name, a number, a path).</summary>
    /// <exception cref="ArgumentException">The payload would exceed 4096 bytes.</exception>
    internal static byte[] TextMessage(XsMessageType type, uint requestId, uint transactionId, string text)
    {
        int length = XsText.Latin1.GetByteCount(text) + 1;
        if (length > XsHeader.PayloadMax)
        {
            throw new ArgumentException($"A payload of {length} bytes exceeds XENSTORE_PAYLOAD_MAX ({XsHeader.PayloadMax}).", nameof(text));
        }

        byte[] m = new byte[XsHeader.HeaderLength + length];
        new XsHeader(type, requestId, transactionId, (uint)length).Write(m);
        XsText.Latin1.GetBytes(text, m.AsSpan(XsHeader.HeaderLength));
        return m;
    }

    /// <summary>
    /// A WATCH_EVENT (<c>req_id</c> and <c>tx_id</c> 0) carrying <paramref name="path"/> and <paramref name="token"/>,
    /// each NUL-terminated; null when the two would not fit in 4096 bytes (C xenstored sends no such event).
    /// </summary>
    internal static byte[]? WatchEvent(string path, string token)
    {
        int length = XsText.Latin1.GetByteCount(path) + XsText.Latin1.GetByteCount(token) + 2;
        if (length > XsHeader.PayloadMax)
        {
            return null;
        }

        byte[] m = new byte[XsHeader.HeaderLength + length];
        new XsHeader(XsMessageType.WatchEvent, 0, 0, (uint)length).Write(m);
        int at = XsHeader.HeaderLength;
        at += XsText.Latin1.GetBytes(path, m.AsSpan(at));
        m[at++] = 0;
        XsText.Latin1.GetBytes(token, m.AsSpan(at));
        return m;
    }
}
