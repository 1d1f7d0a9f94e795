using System.Buffers;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;

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
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                sockets.Add(s);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(store.SocketPath), token);
                Assert.Equal("OK", await CallAsync(s, XsMessageType.Write, $"/conns/{i}\0{i}", token));
                if (i == 9)
                {
                    threadsAtTen = ProcessStat.Threads(store.DaemonProcessId);
                }
            }

            for (int i = 0; i < Connections; i++)
            {
                Assert.Equal(i.ToString(CultureInfo.InvariantCulture), await CallAsync(sockets[i], XsMessageType.Read, $"/conns/{i}\0", token));
            }

            int threads = ProcessStat.Threads(store.DaemonProcessId);
            if (kind == XenstoredKind.Embedded)
            {
                // At most the socket workers (2 per processor + 2) more than with ten connections, and nowhere near one a connection.
                Assert.InRange(threads - threadsAtTen, int.MinValue, (2 * Environment.ProcessorCount) + 2);
                Assert.InRange(threads, 1, 64);
            }
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    private static async Task<string> CallAsync(Socket s, XsMessageType type, string payload, CancellationToken token)
    {
        var w = new ArrayBufferWriter<byte>();
        XsMessageWriter.WriteRaw(w, type, 1, 0, Encoding.ASCII.GetBytes(payload));
        await s.SendAsync(w.WrittenMemory, SocketFlags.None, token);
        byte[] header = await ReceiveExactlyAsync(s, XsHeader.HeaderLength, token);
        Assert.True(XsHeader.TryRead(header, out XsHeader h));
        Assert.Equal(type, h.Type);
        return Encoding.ASCII.GetString(await ReceiveExactlyAsync(s, (int)h.Length, token)).TrimEnd('\0');
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket s, int count, CancellationToken token)
    {
        byte[] into = new byte[count];
        for (int at = 0; at < count;)
        {
            int n = await s.ReceiveAsync(into.AsMemory(at), SocketFlags.None, token);
            Assert.True(n > 0, "the daemon closed the connection");
            at += n;
        }

        return into;
    }
}
