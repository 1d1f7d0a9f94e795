using System.Net.Sockets;

namespace Xen.Store.Server;

/// <summary>
/// An accepted connection kept as the runtime's <see cref="Socket"/> in non-blocking mode (platforms without epoll):
/// parked on a zero-byte asynchronous receive, slow output sent with <see cref="Socket.SendAsync(ReadOnlyMemory{byte}, SocketFlags, CancellationToken)"/>.
/// Correct and thread-free, though it costs more per connection than <see cref="FdSocket"/>, and a socket that waited once
/// stays in the runtime's own readiness set (each later request and reply wakes the runtime's socket thread).
/// </summary>
internal sealed class ManagedSocket : AcceptedSocket
{
    private readonly Socket _socket;

    public ManagedSocket(Socket socket, string description)
        : base(description)
    {
        _socket = socket;
        socket.Blocking = false; // only the synchronous calls; the asynchronous ones work either way
    }

    public override bool WaitReadable(TimeSpan timeout)
    {
        try
        {
            return _socket.Poll(timeout, SelectMode.SelectRead);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return true; // TryReceive reports it
        }
    }

    public override int TryReceive(Span<byte> buffer)
    {
        int n = _socket.Receive(buffer, SocketFlags.None, out SocketError error);
        return error switch
        {
            SocketError.Success => n,
            SocketError.WouldBlock => -1,
            _ => throw new IOException(new SocketException((int)error).Message),
        };
    }

    public override int TrySend(ReadOnlySpan<byte> messages)
    {
        int sent = 0;
        while (sent < messages.Length)
        {
            int n = _socket.Send(messages[sent..], SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                break;
            }

            if (error != SocketError.Success)
            {
                throw new IOException(new SocketException((int)error).Message);
            }

            sent += n;
        }

        return sent;
    }

    public override async Task SendAsync(ReadOnlyMemory<byte> messages)
    {
        try
        {
            while (!messages.IsEmpty)
            {
                messages = messages[await _socket.SendAsync(messages, SocketFlags.None).ConfigureAwait(false)..];
            }
        }
        catch (SocketException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    public override void Park(SocketConnection connection) => _ = WaitReadableAsync(connection);

    public override void Shutdown()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // already closed
        }
    }

    public override void Dispose() => _socket.Dispose();

    private async Task WaitReadableAsync(SocketConnection connection)
    {
        try
        {
            await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // the worker's receive reports it
        }

        connection.Readable();
    }
}
