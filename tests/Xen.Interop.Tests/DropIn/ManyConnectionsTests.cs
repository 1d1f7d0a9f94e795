using System.Globalization;
using System.Net.Sockets;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;
using Xen.TestSupport.Store;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// Two thousand dom0 socket connections at once, as a busy host holds (a device model, a toolstack process, a
/// <c>xenstore-watch</c> each), against the daemon started as a host starts it: every one served, and ours on a bounded
/// number of threads however many there are (C xenstored, the referee, serves them on its one thread).
/// </summary>
[Trait("Category", "Interop")]
public sealed class ManyConnectionsTests
{
    private const int Connections = 2000;

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task Two_thousand_connections_are_all_served_and_ours_stays_on_a_bounded_number_of_threads(XenstoredKind kind)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(kind);
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(120)); // C's poll loop slows as connections grow: 2000 take seconds
        CancellationToken token = guard.Token;
        var sockets = new List<Socket>(Connections);
        try
        {
            int threadsAtTen = 0;
            for (int i = 0; i < Connections; i++)
            {
                Socket s = await RawStoreSocket.ConnectAsync(store.SocketPath, token);
                sockets.Add(s);
                Assert.Equal("OK", await RawStoreSocket.CallAsync(s, XsMessageType.Write, $"/conns/{i}\0{i}", token));
                if (i == 9)
                {
                    threadsAtTen = ProcessStat.Threads(store.DaemonProcessId);
                }
            }

            for (int i = 0; i < Connections; i++)
            {
                Assert.Equal(i.ToString(CultureInfo.InvariantCulture), await RawStoreSocket.CallAsync(sockets[i], XsMessageType.Read, $"/conns/{i}\0", token));
            }

            int threads = ProcessStat.Threads(store.DaemonProcessId);
            if (kind == XenstoredKind.Embedded)
            {
                // At most the socket workers (2 per processor + 2) more than with ten connections, plus a few the runtime
                // starts on its own under load (thread-pool threads for the asynchronous sends, tiered compilation), and
                // nowhere near one a connection.
                const int RuntimeThreads = 8;
                Assert.InRange(threads - threadsAtTen, int.MinValue, (2 * Environment.ProcessorCount) + 2 + RuntimeThreads);
                Assert.InRange(threads, 1, 64);
            }
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }
}
