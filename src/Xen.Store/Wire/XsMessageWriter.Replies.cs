namespace Xen.Store.Wire;

/// <summary>The server's side of message layout: replies and watch events, each an exact-size array a connection queues whole.</summary>
public static partial class XsMessageWriter
{
    /// <summary>A reply to a request: its type, request id and transaction id echoed, then <paramref name="payload"/>.</summary>
    internal static byte[] Reply(XsMessageType type, uint requestId, uint transactionId, ReadOnlySpan<byte> payload)
    {
        byte[] message = new byte[XsHeader.HeaderLength + payload.Length];
        new XsHeader(type, requestId, transactionId, (uint)payload.Length).Write(message);
        payload.CopyTo(message.AsSpan(XsHeader.HeaderLength));
        return message;
    }

    /// <summary>An ERROR reply to <paramref name="request"/>: the error's xs_wire.h name, NUL-terminated.</summary>
    internal static byte[] ErrorReply(XsHeader request, XsError error)
    {
        string name = XsErrors.Name(error);
        byte[] message = new byte[XsHeader.HeaderLength + name.Length + 1];
        new XsHeader(XsMessageType.Error, request.RequestId, request.TransactionId, (uint)(name.Length + 1)).Write(message);
        XsText.Latin1.GetBytes(name, message.AsSpan(XsHeader.HeaderLength));
        return message;
    }

    /// <summary>
    /// A WATCH_EVENT of <paramref name="path"/> and <paramref name="token"/>, each a Latin1 string (one byte per char,
    /// so a guest's bytes go back out as they came) with its NUL; null when the payload would exceed 4096 bytes, an event
    /// C xenstored does not send either.
    /// </summary>
    internal static byte[]? WatchEvent(string path, string token)
    {
        int length = path.Length + token.Length + 2;
        if (length > XsHeader.PayloadMax)
        {
            return null;
        }

        byte[] message = new byte[XsHeader.HeaderLength + length];
        new XsHeader(XsMessageType.WatchEvent, 0, 0, (uint)length).Write(message);
        XsText.Latin1.GetBytes(path, message.AsSpan(XsHeader.HeaderLength));
        XsText.Latin1.GetBytes(token, message.AsSpan(XsHeader.HeaderLength + path.Length + 1));
        return message;
    }
}
