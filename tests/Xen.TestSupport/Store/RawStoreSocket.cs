using System.Buffers;
using System.Net.Sockets;
using System.Text;
using Xen.Store.Wire;

namespace Xen.TestSupport.Store;

/// <summary>
/// A xenstore client as small as a connection can be: a bare Unix socket and whole messages written and read by hand,
/// for tests that open thousands of connections (a full client each would measure the client) or need exact bytes.
/// </summary>
public static class RawStoreSocket
{
    /// <summary>Connects to the daemon listening on <paramref name="path"/>.</summary>
    public static async Task<Socket> ConnectAsync(string path, CancellationToken cancellationToken)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await s.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    /// <summary><paramref name="count"/> copies of one request (<paramref name="payload"/> as ASCII), with request ids 0, 1, ...</summary>
    public static byte[] Requests(XsMessageType type, string payload, int count = 1)
    {
        var w = new ArrayBufferWriter<byte>();
        for (int i = 0; i < count; i++)
        {
            XsMessageWriter.WriteRaw(w, type, (uint)i, 0, Encoding.ASCII.GetBytes(payload));
        }

        return w.WrittenSpan.ToArray();
    }

    /// <summary>Sends one request and returns the reply's payload as text, without its trailing NUL; the reply must be of the request's type.</summary>
    /// <exception cref="IOException">The reply is of another type (an ERROR, say), or the daemon closed the connection.</exception>
    public static async Task<string> CallAsync(Socket socket, XsMessageType type, string payload, CancellationToken cancellationToken)
    {
        await socket.SendAsync(Requests(type, payload), SocketFlags.None, cancellationToken);
        (XsHeader header, byte[] reply) = await ReceiveAsync(socket, cancellationToken);
        string text = Encoding.ASCII.GetString(reply).TrimEnd('\0');
        return header.Type == type ? text : throw new IOException($"{type} was answered with {header.Type} ({text}).");
    }

    /// <summary>The next whole message.</summary>
    /// <exception cref="IOException">The daemon closed the connection, or sent a header that is not one.</exception>
    public static async Task<(XsHeader Header, byte[] Payload)> ReceiveAsync(Socket socket, CancellationToken cancellationToken)
    {
        byte[] header = await ReceiveExactlyAsync(socket, XsHeader.HeaderLength, cancellationToken);
        if (!XsHeader.TryRead(header, out XsHeader h))
        {
            throw new IOException("The daemon sent something that is not a xenstore header.");
        }

        return (h, await ReceiveExactlyAsync(socket, (int)h.Length, cancellationToken));
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count, CancellationToken cancellationToken)
    {
        byte[] into = new byte[count];
        for (int at = 0; at < count;)
        {
            int n = await socket.ReceiveAsync(into.AsMemory(at), SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                throw new IOException("The daemon closed the connection.");
            }

            at += n;
        }

        return into;
    }
}
