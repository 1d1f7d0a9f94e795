using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Xen.Store.Transports;

namespace Xen.Store.Server;

/// <summary>The server's end of an accepted Unix-socket connection.</summary>
internal sealed class AcceptedSocket(Socket socket, string description) : IXenStoreTransport
{
    public string Description { get; } = description;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
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

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
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

    public ValueTask DisposeAsync()
    {
        socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
