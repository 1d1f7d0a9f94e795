using System.Net.Sockets;
using Xen.Store.Transports;

namespace Xen.Store.Server;

/// <summary>
/// The server's end of an accepted Unix-socket connection. <see cref="SocketConnection"/> serves it with the blocking
/// members (a thread of its own per connection); the asynchronous ones are there for the transport contract.
/// </summary>
internal sealed class AcceptedSocket(Socket socket, string description) : IXenStoreTransport
{
    public string Description { get; } = description;

    public async ValueTask SendAsync(ReadOnlyMemory<byte> messages, CancellationToken cancellationToken = default)
    {
        try
        {
            while (!messages.IsEmpty)
            {
                int n = await socket.SendAsync(messages, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                messages = messages[n..];
            }
        }
        catch (SocketException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new IOException(e.Message, e);
        }
    }

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

    public ValueTask DisposeAsync()
    {
        socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
