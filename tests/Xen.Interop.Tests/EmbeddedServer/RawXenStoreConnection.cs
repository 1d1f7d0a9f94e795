using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Xen.Store.Wire;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// A xenstore connection over a Unix socket that sends exactly the bytes it is told to and shows every message
/// that comes back, with no client logic in between (no local checks, no retries, no watch bookkeeping): the
/// instrument for comparing servers. Each message renders as <c>Type body</c> with every NUL shown as <c>|</c>.
/// </summary>
internal sealed class RawXenStoreConnection : IAsyncDisposable
{
    private const int HeaderLength = 16;
    private readonly Socket _socket;
    private readonly CancellationToken _cancellationToken;
    private uint _nextRequestId = 1;

    private RawXenStoreConnection(Socket socket, CancellationToken cancellationToken)
    {
        _socket = socket;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Connects to a server's socket; <paramref name="cancellationToken"/> cancels every later send and receive.</summary>
    public static async Task<RawXenStoreConnection> ConnectAsync(string socketPath, CancellationToken cancellationToken)
    {
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                return new RawXenStoreConnection(socket, cancellationToken);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                // C xenstored listens with a tiny backlog: a connection it has not accepted yet fills it.
                socket.Dispose();
                await Task.Delay(Xen.TestSupport.Peers.Deadline.PollInterval, cancellationToken);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Sends one request whose payload is <paramref name="parts"/> each followed by a NUL (a final
    /// <paramref name="value"/>, when given, without one, as WRITE wants) and returns the rendered reply.
    /// Watch events that arrive first are an error: the script reads them explicitly with <see cref="NextAsync"/>.
    /// </summary>
    public async Task<string> CallAsync(XsMessageType type, uint transactionId, string[] parts, string? value = null)
    {
        var payload = new StringBuilder();
        foreach (string part in parts)
        {
            payload.Append(part).Append('\0');
        }

        payload.Append(value);
        byte[] body = Encoding.ASCII.GetBytes(payload.ToString());
        byte[] message = new byte[HeaderLength + body.Length];
        uint requestId = _nextRequestId++;
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)type);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(4), requestId);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), transactionId);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(12), (uint)body.Length);
        body.CopyTo(message, HeaderLength);
        await _socket.SendAsync(message, _cancellationToken);
        (XsMessageType replyType, uint replyId, string text) = await ReceiveAsync();
        if (replyType == XsMessageType.WatchEvent || replyId != requestId)
        {
            throw new InvalidOperationException($"Expected the reply to {type} #{requestId}, got {replyType} #{replyId}: {text}");
        }

        return text;
    }

    /// <summary>Sends a request without a transaction.</summary>
    public Task<string> CallAsync(XsMessageType type, params string[] parts) => CallAsync(type, 0, parts);

    /// <summary>The next message, rendered (for watch events).</summary>
    public async Task<string> NextAsync() => (await ReceiveAsync()).Text;

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<(XsMessageType Type, uint RequestId, string Text)> ReceiveAsync()
    {
        byte[] header = new byte[HeaderLength];
        await ReceiveExactlyAsync(header);
        var type = (XsMessageType)BinaryPrimitives.ReadUInt32LittleEndian(header);
        uint requestId = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(12));
        if (length > 4096)
        {
            throw new InvalidOperationException($"A {type} reply of {length} bytes.");
        }

        byte[] body = new byte[length];
        await ReceiveExactlyAsync(body);
        return (type, requestId, $"{type} {Encoding.ASCII.GetString(body).Replace('\0', '|')}");
    }

    private async Task ReceiveExactlyAsync(Memory<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            int n = await _socket.ReceiveAsync(buffer, _cancellationToken);
            if (n == 0)
            {
                throw new IOException("The server closed the connection.");
            }

            buffer = buffer[n..];
        }
    }
}
