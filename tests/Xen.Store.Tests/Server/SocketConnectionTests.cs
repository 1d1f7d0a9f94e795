using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Tests.Client;
using Xen.Store.Transports;
using Xen.Store.Wire;
using Xen.TestSupport.Store;

namespace Xen.Store.Tests.Server;

/// <summary>
/// The server's Unix-socket connections (served by the socket workers, parked when quiet, with sends that never hold a
/// thread): framing, back-pressure and shutdown over a real socket, where the in-process tests use a pipe.
/// </summary>
public class SocketConnectionTests() : ServerOnSocket("xs-sockconn", new XenStoreServerOptions { MaxQueuedMessages = 64 })
{
    private async Task<RawConnection> RawAsync() => new(await UnixSocketTransport.ConnectAsync(SocketPath, ServerHarness.Guard));

    [Fact]
    public async Task A_socket_client_that_stops_reading_is_dropped_and_the_others_carry_on()
    {
        await using RawConnection sleeper = await RawAsync();
        string token = new('t', 2000); // 2 KB events: 2000 of them are far more than a socket buffer holds
        Assert.Equal(XsMessageType.Watch, (await sleeper.CallAsync(XsMessageType.Watch, $"/flood\0{token}\0")).Type);
        Assert.Equal(XsMessageType.WatchEvent, (await sleeper.ReceiveAsync())!.Value.Header.Type); // the initial event
        await using XenStoreClient writer = await XenStoreClient.ConnectAsync(SocketPath);
        await using XenStoreClient bystander = await XenStoreClient.ConnectAsync(SocketPath);
        string big = new('x', 3000);

        // The sleeper reads nothing: its socket buffer fills, the send to it waits for it to be writable, its queue of 64 fills,
        // and the server drops it, while the writer's requests keep being answered.
        for (int i = 0; i < 2000; i++)
        {
            await writer.WriteAsync("/flood/n", big, ServerHarness.Guard);
        }

        int events = 0;
        while (await sleeper.ReceiveAsync() is { } m)
        {
            Assert.Equal(XsMessageType.WatchEvent, m.Header.Type);
            events++;
        }

        Assert.True(events < 2000, $"the dropped connection received {events} events");
        Assert.Equal(big, await bystander.ReadStringAsync("/flood/n", ServerHarness.Guard));
    }

    [Fact]
    public async Task An_oversized_payload_closes_only_that_socket_connection_and_loses_no_accepted_write()
    {
        await using XenStoreClient bystander = await XenStoreClient.ConnectAsync(SocketPath);
        await using RawConnection raw = await RawAsync();
        Assert.Equal((XsMessageType.Write, "OK\0"), await raw.CallAsync(XsMessageType.Write, "/kept\0before"));
        byte[] header = new byte[XsHeader.HeaderLength];
        new XsHeader(XsMessageType.Write, 1, 0, XsHeader.PayloadMax + 1).Write(header);
        await raw.SendBytesAsync(header);
        Assert.Null(await raw.ReceiveAsync()); // the server closed it
        Assert.Equal("before", await bystander.ReadStringAsync("/kept", ServerHarness.Guard));
    }

    [Fact]
    public async Task Requests_split_at_every_byte_are_reassembled()
    {
        await using RawConnection raw = await RawAsync();
        await raw.AssertRequestsSplitAtEveryByteAreAnsweredAsync();
    }

    [Fact]
    public async Task Watch_events_caused_elsewhere_reach_a_socket_client_whose_connection_is_parked()
    {
        await using XenStoreClient watcher = await XenStoreClient.ConnectAsync(SocketPath);
        await using XenStoreWatch watch = await watcher.WatchAsync("/elsewhere", "e", cancellationToken: ServerHarness.Guard);
        Assert.Equal("/elsewhere", (await watch.NextAsync()).Path);
        await Task.Delay(SocketWorkers.Keep * 10); // the watcher's connection has been quiet long enough to be parked
        await using XenStoreClient writer = XenStoreClient.Create(Server.ConnectInProcess());
        await writer.WriteAsync("/elsewhere/x", "1", ServerHarness.Guard);
        Assert.Equal("/elsewhere/x", (await watch.NextAsync()).Path);
    }

    [Fact]
    public async Task Disposing_the_server_ends_its_socket_connections()
    {
        EmbeddedXenStore own = await EmbeddedXenStore.StartAsync("xs-own");
        await using RawConnection idle = new(await UnixSocketTransport.ConnectAsync(own.SocketPath, ServerHarness.Guard));
        Assert.Equal((XsMessageType.Write, "OK\0"), await idle.CallAsync(XsMessageType.Write, "/a\0b"));
        await own.DisposeAsync().AsTask().WaitAsync(ServerHarness.Guard);
        Assert.Null(await idle.ReceiveAsync());
    }
}
