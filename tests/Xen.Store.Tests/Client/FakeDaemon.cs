using System.Buffers;
using System.Text;
using System.Threading.Channels;
using Xen.Store.Transports;
using Xen.Store.Wire;

namespace Xen.Store.Tests.Client;

/// <summary>
/// A scripted stand-in for a daemon, as a transport: every request the client sends is parsed and handed to
/// <see cref="OnRequest"/>, which answers through <c>Reply</c>, <see cref="Error"/> or raw bytes; bytes are
/// delivered to the client in chunks of <see cref="ChunkSize"/> so frames arrive split.
/// </summary>
internal sealed class FakeDaemon : IXenStoreTransport
{
    private readonly Channel<byte[]> _toClient = Channel.CreateUnbounded<byte[]>();
    private byte[] _current = [];
    private int _offset;

    public List<(XsHeader Header, byte[] Payload)> Requests { get; } = [];

    public Action<FakeDaemon, XsHeader, string[], byte[]>? OnRequest { get; set; }

    public int ChunkSize { get; set; } = int.MaxValue;

    public int SendCalls { get; private set; }

    public string Description => "fake";

    /// <summary>When set, every send waits for it first (a daemon that is slow to take bytes).</summary>
    public Task? HoldSends { get; set; }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> messages, CancellationToken cancellationToken = default)
    {
        SendCalls++;
        if (HoldSends is Task hold)
        {
            await hold;
        }

        var seq = new ReadOnlySequence<byte>(messages);
        while (XsFrameReader.Take(ref seq, out XsHeader h, out ReadOnlySequence<byte> p) == XsFrameStatus.Frame)
        {
            byte[] payload = p.ToArray();
            lock (Requests)
            {
                Requests.Add((h, payload));
            }

            OnRequest?.Invoke(this, h, XsPayload.Strings(payload), payload);
        }

        if (!seq.IsEmpty)
        {
            throw new InvalidOperationException("The client sent a partial message.");
        }
    }

    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset == _current.Length)
        {
            if (!await _toClient.Reader.WaitToReadAsync(cancellationToken))
            {
                return 0;
            }

            _toClient.Reader.TryRead(out byte[]? next);
            _current = next!;
            _offset = 0;
        }

        int n = Math.Min(Math.Min(buffer.Length, ChunkSize), _current.Length - _offset);
        _current.AsSpan(_offset, n).CopyTo(buffer.Span);
        _offset += n;
        return n;
    }

    public void Raw(byte[] bytes) => _toClient.Writer.TryWrite(bytes);

    public void Reply(XsHeader request, ReadOnlySpan<byte> payload, XsMessageType? type = null)
    {
        var w = new ArrayBufferWriter<byte>();
        XsMessageWriter.WriteRaw(w, type ?? request.Type, request.RequestId, request.TransactionId, payload);
        Raw(w.WrittenSpan.ToArray());
    }

    public void Reply(XsHeader request, string text) => Reply(request, Encoding.ASCII.GetBytes(text));

    public void Error(XsHeader request, string error) => Reply(request, Encoding.ASCII.GetBytes(error + "\0"), XsMessageType.Error);

    public void WatchEvent(string path, string token) =>
        Reply(new XsHeader(XsMessageType.WatchEvent, 0, 0, 0), Encoding.ASCII.GetBytes($"{path}\0{token}\0"));

    public void Close() => _toClient.Writer.TryComplete();

    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }
}
