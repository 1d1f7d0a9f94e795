using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Xen.Store.Wire;

namespace Xen.Benchmarks;

/// <summary>
/// A warm daemon's throughput for one pipelining client (the <c>store-pipeline</c> mode): one Unix socket, a raw
/// client that keeps N READs of a 32-byte value in flight (sends one request for each reply it takes), against C
/// xenstored and ours in the same run, as a ratio to C.
/// </summary>
/// <remarks>
/// Why warm: our JIT daemon runs its first requests in tier-0 code and becomes several times faster as tiered
/// compilation replaces it (measured: about 10x over its first million requests), where a host's xenstored runs for
/// months. So each daemon first serves warm-up rounds until two rounds in a row agree within 5% (at least
/// <see cref="WarmUpMin"/> requests, at most <see cref="WarmUpMax"/>), and only then is measured. The client is raw
/// (no <c>XenStoreClient</c>): its cost per reply is a header parse and a counter, the same against every daemon.
/// Run: <c>dotnet run -c Release --project benchmarks/Xen.Benchmarks -- store-pipeline [artifacts/native/xen]</c>.
/// </remarks>
internal static class StorePipelineFigures
{
    public const string Command = "store-pipeline";

    private const int Round = 100_000;
    private const int Rounds = 5;
    private const int WarmUpMin = 1_000_000;
    private const int WarmUpMax = 4_000_000;
    private const int ValueBytes = 32;
    private static readonly int[] Depths = [1, 16, 64];

    public static async Task<int> RunAsync(string? nativeXen)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"One dom0 socket, a raw client keeping N READs of {ValueBytes} bytes in flight; after warm-up, {Rounds} rounds of {Round} READs per depth, median (range)"));
        Console.WriteLine();
        var results = new List<(string Daemon, int Depth, double Median, double Low, double High, long WarmUp)>();
        await StoreDaemonFigures.ForEachDaemonAsync(nativeXen, async (daemon, _, client, socket) =>
        {
            await client.WriteAsync("/bench/read", Encoding.ASCII.GetBytes("0123456789abcdef0123456789ABCDEF")).ConfigureAwait(false);
            using Socket s = RawConnect(socket);
            long warmUp = await Task.Run(() => WarmUp(s)).ConfigureAwait(false);
            foreach (int depth in Depths)
            {
                double[] rates = new double[Rounds];
                for (int i = 0; i < Rounds; i++)
                {
                    rates[i] = await Task.Run(() => Pipeline(s, depth, Round)).ConfigureAwait(false);
                }

                Array.Sort(rates);
                results.Add((daemon, depth, rates[Rounds / 2], rates[0], rates[^1], warmUp));
            }
        }, withOXenstored: false).ConfigureAwait(false);

        Console.WriteLine("| daemon | in flight | kops/s | ratio to C xenstored | warm-up READs |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            double c = results.First(x => x.Daemon == "C xenstored" && x.Depth == r.Depth).Median;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Daemon} | {r.Depth} | {r.Median / 1000:F1} ({r.Low / 1000:F1}-{r.High / 1000:F1}) | {r.Median / c:F2} | {r.WarmUp} |"));
        }

        return 0;
    }

    /// <summary>Rounds at the deepest depth until two in a row agree within 5%, within the warm-up's bounds; the READs it took.</summary>
    private static long WarmUp(Socket s)
    {
        long done = 0;
        double last = 0;
        while (done < WarmUpMax)
        {
            double rate = Pipeline(s, Depths[^1], Round);
            done += Round;
            if (done >= WarmUpMin && Math.Abs(rate - last) <= 0.05 * Math.Max(rate, last))
            {
                break;
            }

            last = rate;
        }

        return done;
    }

    /// <summary><paramref name="count"/> READs of <c>/bench/read</c> with <paramref name="depth"/> in flight; the READs per second.</summary>
    /// <exception cref="InvalidOperationException">A reply is not the value's READ reply.</exception>
    private static double Pipeline(Socket s, int depth, int count)
    {
        byte[] one = Request();
        byte[] burst = new byte[one.Length * depth];
        for (int i = 0; i < depth; i++)
        {
            one.CopyTo(burst, i * one.Length);
        }

        const int ReplyBytes = XsHeader.HeaderLength + ValueBytes;
        byte[] buffer = new byte[65536];
        int filled = 0;
        int sent = Math.Min(depth, count);
        int received = 0;
        var clock = Stopwatch.StartNew();
        Send(s, burst.AsSpan(0, sent * one.Length));
        while (received < count)
        {
            int n = s.Receive(buffer.AsSpan(filled));
            if (n == 0)
            {
                throw new InvalidOperationException("The daemon closed the connection.");
            }

            filled += n;
            int at = 0;
            int replies = 0;
            while (filled - at >= ReplyBytes)
            {
                if (BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at)) != (uint)XsMessageType.Read ||
                    BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at + 12)) != ValueBytes)
                {
                    throw new InvalidOperationException("A reply is not the READ of the 32-byte value.");
                }

                at += ReplyBytes;
                replies++;
            }

            buffer.AsSpan(at, filled - at).CopyTo(buffer);
            filled -= at;
            received += replies;
            int more = Math.Min(replies, count - sent);
            if (more > 0)
            {
                Send(s, burst.AsSpan(0, more * one.Length)); // one request for each reply taken, in one send
                sent += more;
            }
        }

        return count / clock.Elapsed.TotalSeconds;
    }

    private static void Send(Socket s, ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            bytes = bytes[s.Send(bytes)..];
        }
    }

    private static byte[] Request()
    {
        byte[] path = Encoding.ASCII.GetBytes("/bench/read\0");
        byte[] request = new byte[XsHeader.HeaderLength + path.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)XsMessageType.Read);
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(12), (uint)path.Length); // req_id and tx_id 0
        path.CopyTo(request, XsHeader.HeaderLength);
        return request;
    }

    /// <summary>
    /// Connects with the synchronous call, so the socket stays blocking: the runtime makes a socket that has been used
    /// asynchronously non-blocking and emulates each later synchronous receive with a poll, a cost of the client's.
    /// </summary>
    private static Socket RawConnect(string path)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Connect(new UnixDomainSocketEndPoint(path));
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }
}
