using System.Net.Sockets;

namespace Xen.Store.Server;

/// <summary>
/// The server's end of an accepted Unix-socket connection, with the blocking calls <see cref="SocketConnection"/>'s
/// thread makes (socket errors become <see cref="IOException"/>).
/// </summary>
internal sealed class AcceptedSocket(Socket socket, string description) : IDisposable
{
    public string Description { get; } = description;

    /// <summary>Whether a <see cref="Receive"/> would return at once (data, end of stream or an error); never blocks.</summary>
    public bool Readable()
    {
        try
        {
            return socket.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return true; // Receive reports it
        }
    }

    /// <summary>Blocks until at least one byte arrives; 0 when the client closed its end.</summary>
    /// <exception cref="IOException">The connection failed.</exception>
    public int Receive(Span<byte> buffer)
    {
        try
        {
            return socket.Receive(buffer, SocketFlags.None);
        }
        catch (SocketException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    /// <summary>Blocks until all of <paramref name="messages"/> is sent.</summary>
    /// <exception cref="IOException">The connection failed.</exception>
    public void Send(ReadOnlySpan<byte> messages)
    {
        try
        {
            while (!messages.IsEmpty)
            {
                messages = messages[socket.Send(messages, SocketFlags.None)..];
            }
        }
        catch (SocketException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    /// <summary>Shuts the socket down both ways, waking a thread blocked in <see cref="Receive"/>; errors are ignored (it may be gone already).</summary>
    public void Shutdown()
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // already closed
        }
    }

    public void Dispose() => socket.Dispose();
}
