using System.Buffers;
using System.Text;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Transports;
using Xen.Store.Wire;

namespace Xen.Store.Tests.Server;

/// <summary>A server with helpers to open clients and raw connections; disposes everything it opened.</summary>
internal sealed class ServerHarness : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _opened = [];

    public ServerHarness(XenStoreServerOptions? options = null) => Server = new XenStoreServer(options);

    public XenStoreServer Server { get; }

    /// <summary>A guard against hangs (not a timing assertion): every wait in these tests gives up after it.</summary>
    public static CancellationToken Guard => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    public XenStoreClient Client(uint domainId = 0)
    {
        XenStoreClient c = XenStoreClient.Create(Server.ConnectInProcess(domainId));
        _opened.Add(c);
        return c;
    }

    public RawConnection Raw(uint domainId = 0)
    {
        var r = new RawConnection(Server.ConnectInProcess(domainId));
        _opened.Add(r);
        return r;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IAsyncDisposable d in _opened)
        {
            await d.DisposeAsync();
        }

        await Server.DisposeAsync();
    }
}

/// <summary>A connection that sends and receives exact bytes, for protocol-level tests.</summary>
internal sealed class RawConnection(IXenStoreTransport transport) : IAsyncDisposable
{
    private readonly byte[] _buffer = new byte[XsHeader.MessageMax * 4];
    private int _filled;

    public IXenStoreTransport Transport => transport;

    public ValueTask SendBytesAsync(byte[] bytes) => transport.SendAsync(bytes, ServerHarness.Guard);

    public ValueTask SendAsync(XsMessageType type, string payload, uint txId = 0, uint reqId = 7) =>
        SendAsync(type, Encoding.Latin1.GetBytes(payload), txId, reqId);

    public ValueTask SendAsync(XsMessageType type, byte[] payload, uint txId = 0, uint reqId = 7)
    {
        var w = new ArrayBufferWriter<byte>();
        XsMessageWriter.WriteRaw(w, type, reqId, txId, payload);
        return transport.SendAsync(w.WrittenMemory, ServerHarness.Guard);
    }

    /// <summary>The next message, or null when the server closed the connection.</summary>
    public async ValueTask<(XsHeader Header, byte[] Payload)?> ReceiveAsync()
    {
        while (true)
        {
            if (XsHeader.TryRead(_buffer.AsSpan(0, _filled), out XsHeader h) && _filled >= XsHeader.HeaderLength + h.Length)
            {
                byte[] payload = _buffer.AsSpan(XsHeader.HeaderLength, (int)h.Length).ToArray();
                int total = XsHeader.HeaderLength + (int)h.Length;
                _buffer.AsSpan(total, _filled - total).CopyTo(_buffer);
                _filled -= total;
                return (h, payload);
            }

            int n;
            try
            {
                n = await transport.ReceiveAsync(_buffer.AsMemory(_filled), ServerHarness.Guard);
            }
            catch (IOException)
            {
                return null;
            }

            if (n == 0)
            {
                return null;
            }

            _filled += n;
        }
    }

    /// <summary>Sends a request and returns the reply as (type, payload text).</summary>
    public async ValueTask<(XsMessageType Type, string Payload)> CallAsync(XsMessageType type, string payload, uint txId = 0)
    {
        await SendAsync(type, payload, txId);
        var m = await ReceiveAsync() ?? throw new IOException("The server closed the connection.");
        return (m.Header.Type, Encoding.Latin1.GetString(m.Payload));
    }

    public ValueTask DisposeAsync() => transport.DisposeAsync();
}

internal static class TestExtensions
{
    /// <summary>Sends a WRITE and a READ of <c>/split</c> one byte per send, and checks both are answered as if sent whole.</summary>
    public static async Task AssertRequestsSplitAtEveryByteAreAnsweredAsync(this RawConnection raw)
    {
        var w = new ArrayBufferWriter<byte>();
        XsMessageWriter.Write(w, XsMessageType.Write, 1, 0, ["/split"], "value"u8);
        XsMessageWriter.Write(w, XsMessageType.Read, 2, 0, ["/split"]);
        foreach (byte b in w.WrittenSpan.ToArray())
        {
            await raw.SendBytesAsync([b]);
        }

        Assert.Equal(XsMessageType.Write, (await raw.ReceiveAsync())!.Value.Header.Type);
        Assert.Equal("value"u8.ToArray(), (await raw.ReceiveAsync())!.Value.Payload);
    }

    public static async Task<XsError> ErrorOf(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (XenStoreErrorException e)
        {
            return e.Error;
        }

        throw new Xunit.Sdk.XunitException("Expected a xenstore error, but the operation succeeded.");
    }

    public static async Task<XenStoreWatchEvent> NextAsync(this XenStoreWatch watch) => await watch.ReadAsync(ServerHarness.Guard);
}
