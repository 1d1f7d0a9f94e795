using System.Net.Sockets;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Wire;
using Xen.TestSupport.Store;

namespace Xen.Store.Tests.Server;

/// <summary>
/// The bounded set of threads that serves the server's Unix-socket connections (<see cref="SocketWorkers"/>): many
/// connections on few threads, quiet ones parked and woken again, a flooding client given its share and no more, and
/// output a client is slow to take sent without holding a thread.
/// </summary>
public class SocketWorkersTests
{
    /// <summary>Whether the server keeps the runtime's sockets (the path of platforms without epoll) instead of bare descriptors.</summary>
    protected virtual bool ManagedSockets => false;

    private Task<EmbeddedXenStore> StartAsync(string prefix, int maxSocketThreads = 0) =>
        EmbeddedXenStore.StartAsync(prefix, new XenStoreServerOptions
        {
            MaxSocketThreads = maxSocketThreads > 0 ? maxSocketThreads : new XenStoreServerOptions().MaxSocketThreads,
            ManagedSockets = ManagedSockets,
        });

    [Fact]
    public async Task Three_thousand_connections_are_all_served_by_at_most_MaxSocketThreads_threads()
    {
        const int Connections = 3000;
        await using EmbeddedXenStore store = await StartAsync("xs-many", maxSocketThreads: 4);
        var sockets = new List<Socket>(Connections);
        try
        {
            for (int i = 0; i < Connections; i++)
            {
                Socket s = await ConnectAsync(store.SocketPath);
                sockets.Add(s);
                Assert.Equal("OK", await CallAsync(s, XsMessageType.Write, $"/conns/{i}\0{i}"));
            }

            // Every connection is still open and answered (they were parked: no thread each).
            for (int i = 0; i < Connections; i++)
            {
                Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), await CallAsync(sockets[i], XsMessageType.Read, $"/conns/{i}\0"));
            }

            Assert.InRange(store.Server.SocketWorkers.PeakThreads, 1, 4);
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task A_flooding_connection_beside_fifty_quiet_ones_leaves_every_quiet_one_served()
    {
        // Two threads for 51 connections: the flooder keeps one busy all the time; the quiet ones must still get turns.
        await using EmbeddedXenStore store = await StartAsync("xs-flood", maxSocketThreads: 2);
        using var flooder = await ConnectAsync(store.SocketPath);
        using var stop = new CancellationTokenSource();
        long floodReplies = 0;
        byte[] burst = Requests(XsMessageType.Read, "/tool\0", 64);
        Task sending = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await flooder.SendAsync(burst, SocketFlags.None, ServerHarness.Guard);
            }
        });
        Task reading = Task.Run(async () =>
        {
            byte[] buffer = new byte[65536];
            while (!stop.IsCancellationRequested)
            {
                int n = await flooder.ReceiveAsync(buffer, SocketFlags.None, ServerHarness.Guard);
                if (n == 0)
                {
                    break;
                }

                Interlocked.Add(ref floodReplies, n);
            }
        });
        while (Interlocked.Read(ref floodReplies) == 0)
        {
            await Task.Delay(1, ServerHarness.Guard);
        }

        await Task.WhenAll(Enumerable.Range(0, 50).Select(async q =>
        {
            using Socket quiet = await ConnectAsync(store.SocketPath);
            for (int i = 0; i < 20; i++)
            {
                Assert.Equal("OK", await CallAsync(quiet, XsMessageType.Write, $"/quiet/{q}\0{i}"));
                Assert.Equal($"{i}", await CallAsync(quiet, XsMessageType.Read, $"/quiet/{q}\0"));
            }
        })).WaitAsync(ServerHarness.Guard);

        long during = Interlocked.Read(ref floodReplies);
        await stop.CancelAsync();
        flooder.Shutdown(SocketShutdown.Both);
        await Task.WhenAll(sending, reading).ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.True(during > 0, "the flooder was never served");
        Assert.InRange(store.Server.SocketWorkers.PeakThreads, 1, 2);
    }

    [Fact]
    public async Task A_connection_quiet_for_longer_than_the_keep_time_is_parked_and_answered_again()
    {
        await using EmbeddedXenStore store = await StartAsync("xs-park");
        using Socket s = await ConnectAsync(store.SocketPath);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal("OK", await CallAsync(s, XsMessageType.Write, $"/park\0{i}"));
            await Task.Delay(SocketWorkers.Keep * 10, ServerHarness.Guard); // well past the keep time: parked
            Assert.Equal($"{i}", await CallAsync(s, XsMessageType.Read, "/park\0"));
        }
    }

    [Fact]
    public async Task Replies_a_client_does_not_read_for_a_while_are_all_delivered_in_order_when_it_reads()
    {
        // 300 replies of 3000 bytes are far more than a socket buffer holds: the server's sends stop part-way, wait for
        // the client to read (holding no worker), and the connection's requests are read again once they have gone.
        await using EmbeddedXenStore store = await StartAsync("xs-slow", maxSocketThreads: 1);
        await using (XenStoreClient writer = await XenStoreClient.ConnectAsync(store.SocketPath))
        {
            await writer.WriteAsync("/big", new string('b', 3000), ServerHarness.Guard);
        }

        using Socket slow = await ConnectAsync(store.SocketPath);
        const int Count = 300;
        await slow.SendAsync(Requests(XsMessageType.Read, "/big\0", Count), SocketFlags.None, ServerHarness.Guard);
        await Task.Delay(200, ServerHarness.Guard);

        // Meanwhile another client is served by the only worker.
        using (Socket other = await ConnectAsync(store.SocketPath))
        {
            Assert.Equal("OK", await CallAsync(other, XsMessageType.Write, "/other\0x"));
        }

        for (uint i = 0; i < Count; i++)
        {
            (XsHeader header, byte[] payload) = await ReceiveAsync(slow);
            Assert.Equal(XsMessageType.Read, header.Type);
            Assert.Equal(i, header.RequestId);
            Assert.Equal(3000, payload.Length);
        }

        Assert.Equal(3000, (await CallAsync(slow, XsMessageType.Read, "/big\0")).Length); // and it is served again
    }

    [Fact]
    public void MaxSocketThreads_defaults_to_twice_the_processors_plus_two_and_refuses_zero()
    {
        Assert.Equal((2 * Environment.ProcessorCount) + 2, new XenStoreServerOptions().MaxSocketThreads);
        Assert.Throws<ArgumentOutOfRangeException>(() => new XenStoreServerOptions { MaxSocketThreads = 0 });
    }

    private static Task<Socket> ConnectAsync(string path) => RawStoreSocket.ConnectAsync(path, ServerHarness.Guard);

    private static byte[] Requests(XsMessageType type, string payload, int count) => RawStoreSocket.Requests(type, payload, count);

    private static Task<string> CallAsync(Socket s, XsMessageType type, string payload) => RawStoreSocket.CallAsync(s, type, payload, ServerHarness.Guard);

    private static Task<(XsHeader Header, byte[] Payload)> ReceiveAsync(Socket s) => RawStoreSocket.ReceiveAsync(s, ServerHarness.Guard);
}

/// <summary>The same, with the runtime's sockets (<see cref="ManagedSocket"/>), as on platforms without epoll.</summary>
public sealed class ManagedSocketWorkersTests : SocketWorkersTests
{
    protected override bool ManagedSockets => true;
}
