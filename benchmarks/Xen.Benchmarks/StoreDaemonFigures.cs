using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Xen.Benchmarks.Infrastructure;
using Xen.Store.Client;
using Xen.TestSupport.Peers;

namespace Xen.Benchmarks;

/// <summary>
/// Figures about the xenstore daemons as processes: modes of this program rather than BenchmarkDotNet suites, since
/// the resident memory and CPU time of another process are figures BenchmarkDotNet does not take. Each daemon
/// (C xenstored, oxenstored, our server re-launched as this program in <see cref="XenStoreDaemons.ServeCommand"/> mode) runs as its
/// own process and is reached over its Unix socket by our client as dom0.
/// <list type="bullet">
/// <item><c>store-memory</c>: the resident set (<c>VmRSS</c>) idle, after 100 000 nodes of 32 bytes were written
/// (100 directories of 1000, 64 writes in flight), and after they were removed again.</item>
/// <item><c>store-cpu</c>: the daemon's CPU time per READ from libxenstore's loop and from our client (two settings) with one request in flight and with 64.</item>
/// </list>
/// Run: <c>dotnet run -c Release --project benchmarks/Xen.Benchmarks -- store-memory</c> (or <c>store-cpu</c>); a path after
/// the mode (<c>store-memory artifacts/native/xen</c>) adds the native <c>xen store serve</c> (NativeAOT publish) as a fourth daemon.
/// </summary>
internal static class StoreDaemonFigures
{
    public const string Command = "store-memory";

    /// <summary>The mode that measures each daemon's CPU time per READ (one in flight, then 64).</summary>
    public const string CpuCommand = "store-cpu";


    private const int Directories = 100;
    private const int PerDirectory = 1000;
    private const int Nodes = Directories * PerDirectory;
    private const int InFlight = 64;

    public static async Task<int> RunAsync(string? nativeXen = null)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Resident memory (VmRSS, MiB) of each xenstore daemon, idle, with {Nodes} more nodes of 32 bytes, and after removing them"));
        Console.WriteLine();
        Console.WriteLine("| daemon | idle | +100 000 nodes | growth | per node | after rm | write time |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        await ForEachDaemonAsync(nativeXen, async (daemon, pid, client, _) =>
        {
            await Task.Delay(500).ConfigureAwait(false);
            long idle = ProcessStat.ResidentBytes(pid);
            var clock = Stopwatch.StartNew();
            await WriteNodesAsync(client).ConfigureAwait(false);
            TimeSpan took = clock.Elapsed;
            await CheckAsync(client).ConfigureAwait(false);
            await Task.Delay(1000).ConfigureAwait(false);
            long full = ProcessStat.ResidentBytes(pid);
            await client.RemoveAsync("/mem").ConfigureAwait(false);
            await Task.Delay(1000).ConfigureAwait(false);
            long emptied = ProcessStat.ResidentBytes(pid);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {daemon} | {Mib(idle)} | {Mib(full)} | {Mib(full - idle)} | {(full - idle) / (double)Nodes:F0} B | {Mib(emptied)} | {took.TotalSeconds:F1} s |"));
        }).ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// How much CPU each daemon spends per READ of a 32-byte value: from libxenstore's sequential loop, and from our
    /// client (default settings and <see cref="XenStoreBenchmarks.InlineOptions"/>) with one request in flight and with
    /// 64: user + system time of the daemon's process (<c>/proc/PID/stat</c>) over the requests answered. The
    /// reciprocal is the most that daemon can answer per second on one core at that cost.
    /// </summary>
    public static async Task<int> RunCpuAsync(string? nativeXen = null)
    {
        const int Requests = 100_000;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Daemon CPU time per READ ({Requests} READs of 32 bytes over one dom0 socket connection)"));
        Console.WriteLine();
        Console.WriteLine("| daemon | client | in flight | kops/s | daemon CPU (% of a core) | daemon CPU per READ | ceiling on one core |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        byte[] value = Encoding.ASCII.GetBytes("0123456789abcdef0123456789ABCDEF");
        await ForEachDaemonAsync(nativeXen, async (daemon, pid, client, socket) =>
        {
            await client.WriteAsync("/bench/read", value).ConfigureAwait(false);
            void Row(string who, int inFlight, double elapsed, double cpu)
            {
                double perRead = cpu / Requests;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {daemon} | {who} | {inFlight} | {Requests / elapsed / 1000:F1} | {cpu / elapsed * 100:F0} % | {perRead * 1e6:F1} us | {1 / perRead / 1000:F0} kops/s |"));
            }

            nint xs = NativeBaseline.XsOpen(socket);
            nint path = Marshal.StringToHGlobalAnsi("/bench/read");
            try
            {
                NativeBaseline.XsReadLoop(xs, path, 4096); // warm-up
                double cpu0 = CpuSeconds(pid);
                var clock = Stopwatch.StartNew();
                if (NativeBaseline.XsReadLoop(xs, path, Requests) != (long)Requests * value.Length)
                {
                    throw new InvalidOperationException("libxenstore's xs_read loop failed.");
                }

                Row("libxenstore", 1, clock.Elapsed.TotalSeconds, CpuSeconds(pid) - cpu0);
            }
            finally
            {
                NativeBaseline.XsClose(xs);
                Marshal.FreeHGlobal(path);
            }

            await using XenStoreClient inline = await XenStoreDaemons.ConnectAsync(socket, XenStoreBenchmarks.InlineOptions).ConfigureAwait(false);
            foreach ((string who, XenStoreClient c) in new[] { ("ours", client), ("ours, inline", inline) })
            {
                foreach (int inFlight in new[] { 1, 64 })
                {
                    await XenStoreBenchmarks.ReadConcurrentAsync(c, inFlight, 4096).ConfigureAwait(false); // warm-up
                    double cpu0 = CpuSeconds(pid);
                    var clock = Stopwatch.StartNew();
                    await XenStoreBenchmarks.ReadConcurrentAsync(c, inFlight, Requests).ConfigureAwait(false);
                    Row(who, inFlight, clock.Elapsed.TotalSeconds, CpuSeconds(pid) - cpu0);
                }
            }
        }).ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// Starts each daemon in its own process (C xenstored, oxenstored, ours; with <paramref name="nativeXen"/>, that
    /// native <c>xen store serve</c> too), connects a dom0 client, runs <paramref name="body"/> with the daemon's name,
    /// pid, client and socket, and stops it; oxenstored only <paramref name="withOXenstored"/>; with
    /// <paramref name="withUntieredTool"/> also this build's JIT tool with tiered compilation off.
    /// </summary>
    internal static async Task ForEachDaemonAsync(string? nativeXen, Func<string, int, XenStoreClient, string, Task> body, bool withOXenstored = true, bool withUntieredTool = false)
    {
        var daemons = new List<(string Name, Func<string, Task<int>> Start)>
        {
            ("C xenstored", d => XenStoreDaemons.StartAsync(XenStoreDaemon.CXenstored, d)),
            ("ours", d => XenStoreDaemons.StartAsync(XenStoreDaemon.OursProcess, d)),
        };
        if (withOXenstored)
        {
            daemons.Insert(1, ("oxenstored", d => XenStoreDaemons.StartAsync(XenStoreDaemon.OXenstored, d)));
        }

        if (nativeXen is not null)
        {
            string native = Path.GetFullPath(nativeXen);
            daemons.Add(("ours, native xen store serve", d => XenStoreDaemons.StartNativeAsync(native, d)));
        }

        if (withUntieredTool)
        {
            daemons.Add(("ours, dotnet xen.dll, TieredCompilation=0", XenStoreDaemons.StartUntieredToolAsync));
        }

        for (int i = 0; i < daemons.Count; i++)
        {
            (string name, Func<string, Task<int>> start) = daemons[i];
            string directory = $"/tmp/xsmem-{Environment.ProcessId}-{i}";
            Directory.CreateDirectory(directory);
            string socket = Path.Combine(directory, "socket");
            int pid = 0;
            try
            {
                pid = await start(directory).ConfigureAwait(false);
                await using XenStoreClient client = await XenStoreDaemons.ConnectAsync(socket).ConfigureAwait(false);
                await client.WriteAsync("/warm", "up").ConfigureAwait(false);
                await body(name, pid, client, socket).ConfigureAwait(false);
            }
            finally
            {
                if (pid != 0)
                {
                    PeerDaemons.Stop(pid);
                }

                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static double CpuSeconds(int pid)
    {
        string[] fields = ProcessStat.Fields(pid);
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0; // utime, stime in USER_HZ
    }

    private static Task WriteNodesAsync(XenStoreClient client)
    {
        byte[] value = Encoding.ASCII.GetBytes("0123456789abcdef0123456789ABCDEF");
        return Task.WhenAll(Enumerable.Range(0, InFlight).Select(async loop =>
        {
            for (int i = loop; i < Nodes; i += InFlight)
            {
                await client.WriteAsync(NodePath(i), value).ConfigureAwait(false);
            }
        }));
    }

    private static async Task CheckAsync(XenStoreClient client)
    {
        IReadOnlyList<string> top = await client.DirectoryAsync("/mem").ConfigureAwait(false);
        IReadOnlyList<string> last = await client.DirectoryAsync($"/mem/{Directories - 1}").ConfigureAwait(false);
        byte[] sample = await client.ReadAsync(NodePath(Nodes / 2 + 7)).ConfigureAwait(false);
        if (top.Count != Directories || last.Count != PerDirectory || sample.Length != 32)
        {
            throw new InvalidOperationException($"The daemon does not hold the nodes written: /mem has {top.Count} children, the last directory {last.Count}.");
        }
    }

    private static string NodePath(int i) => string.Create(CultureInfo.InvariantCulture, $"/mem/{i / PerDirectory}/{i % PerDirectory}");

    internal static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
}
