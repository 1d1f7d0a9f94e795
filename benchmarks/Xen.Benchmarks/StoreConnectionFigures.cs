using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Xen.Benchmarks.Infrastructure;
using Xen.TestSupport.Peers;

namespace Xen.Benchmarks;

/// <summary>
/// What many dom0 socket connections cost each xenstore daemon (the <c>store-connections</c> mode; a mode rather than
/// a BenchmarkDotNet suite, since another process's threads and resident set are figures BenchmarkDotNet does not take).
/// <list type="bullet">
/// <item>For 1, 10, 100, 1000 and 5000 connections, each daemon fresh: libxenstore opens them one after another, each
/// writes <c>/conns/N</c> and reads it back (the time of that is the first figure), then all stay open and idle while
/// the daemon's threads and resident set are read. Beside the usual daemons, this build's JIT tool with tiered
/// compilation off: its growth is what the connections hold, without the code tiering recompiles meanwhile.</item>
/// <item>4 busy connections (libxenstore's <c>xs_read</c> loop, one thread each) with no other connection, then with
/// 1000 idle ones open: the busy ones' ops/s in both, same daemon.</item>
/// </list>
/// Run: <c>dotnet run -c Release --project benchmarks/Xen.Benchmarks -- store-connections [artifacts/native/xen]</c>.
/// The process's open-file limit is raised to its hard limit first (the daemons inherit it).
/// </summary>
internal static class StoreConnectionFigures
{
    public const string Command = "store-connections";

    private static readonly int[] Counts = [1, 10, 100, 1000, 5000];
    private const int Busy = 4;
    private const int BusyReads = 20_000;
    private const int IdleBeside = 1000;

    public static async Task<int> RunAsync(string? nativeXen)
    {
        RaiseOpenFileLimit();
        Console.WriteLine("Dom0 socket connections, each one xs_open + xs_write + xs_read and then idle (libxenstore), each daemon fresh per row");
        Console.WriteLine();
        Console.WriteLine("| daemon | connections | connect+WRITE+READ | per connection | threads | VmRSS | growth per connection |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (int count in Counts)
        {
            await StoreDaemonFigures.ForEachDaemonAsync(nativeXen, async (daemon, pid, _, socket) =>
            {
                await Task.Delay(300).ConfigureAwait(false);
                long before = ProcessStat.ResidentBytes(pid);
                using var connections = new Connections(count);
                var clock = Stopwatch.StartNew();
                uint opened = await Task.Run(() => connections.Open(socket)).ConfigureAwait(false);
                TimeSpan took = clock.Elapsed;
                if (opened != count)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {daemon} | {count} | failed after {opened} | | {ProcessStat.Threads(pid)} | | |"));
                    return;
                }

                await Task.Delay(1000).ConfigureAwait(false);
                long after = ProcessStat.ResidentBytes(pid);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {daemon} | {count} | {took.TotalMilliseconds:F1} ms | {took.TotalMicroseconds / count:F0} us | {ProcessStat.Threads(pid)} | {StoreDaemonFigures.Mib(after)} MiB | {(after - before) / 1024.0 / count:F1} KiB |"));
            }, withUntieredTool: true).ConfigureAwait(false);
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Busy} busy connections ({BusyReads} xs_read of 32 bytes each, one thread each), alone and beside {IdleBeside} idle ones"));
        Console.WriteLine();
        Console.WriteLine("| daemon | alone, kops/s | beside 1000 idle, kops/s | ratio | threads beside 1000 |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        await StoreDaemonFigures.ForEachDaemonAsync(nativeXen, async (daemon, pid, client, socket) =>
        {
            await client.WriteAsync("/bench/read", Encoding.ASCII.GetBytes("0123456789abcdef0123456789ABCDEF")).ConfigureAwait(false);
            _ = await BusyReadsAsync(socket, BusyReads / 10).ConfigureAwait(false); // warm-up
            double alone = await BusyReadsAsync(socket, BusyReads).ConfigureAwait(false);
            using var idle = new Connections(IdleBeside);
            if (await Task.Run(() => idle.Open(socket)).ConfigureAwait(false) != IdleBeside)
            {
                Console.WriteLine($"| {daemon} | {alone / 1000:F1} | could not open {IdleBeside} | | |");
                return;
            }

            double beside = await BusyReadsAsync(socket, BusyReads).ConfigureAwait(false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {daemon} | {alone / 1000:F1} | {beside / 1000:F1} | {beside / alone:F2} | {ProcessStat.Threads(pid)} |"));
        }).ConfigureAwait(false);
        return 0;
    }

    /// <summary><see cref="Busy"/> libxenstore connections each reading <c>/bench/read</c> <paramref name="reads"/> times at once; their total ops/s.</summary>
    private static async Task<double> BusyReadsAsync(string socket, int reads)
    {
        nint path = Marshal.StringToHGlobalAnsi("/bench/read");
        var handles = Enumerable.Range(0, Busy).Select(_ => NativeBaseline.XsOpen(socket)).ToArray();
        try
        {
            if (handles.Any(h => h == 0))
            {
                throw new InvalidOperationException("libxenstore could not connect.");
            }

            var clock = Stopwatch.StartNew();
            long[] totals = await Task.WhenAll(handles.Select(h => Task.Factory.StartNew(
                () => NativeBaseline.XsReadLoop(h, path, (uint)reads), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))).ConfigureAwait(false);
            double seconds = clock.Elapsed.TotalSeconds;
            if (totals.Any(t => t != reads * 32L))
            {
                throw new InvalidOperationException("An xs_read loop failed.");
            }

            return Busy * reads / seconds;
        }
        finally
        {
            foreach (nint h in handles)
            {
                NativeBaseline.XsClose(h);
            }

            Marshal.FreeHGlobal(path);
        }
    }

    /// <summary>Raises this process's soft open-file limit to its hard limit, so that 5000 connections fit (the daemons inherit it).</summary>
    private static void RaiseOpenFileLimit()
    {
        if (NativeBaseline.RaiseOpenFileLimit() is var limit and < 5100)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"(the open-file limit is {limit}: the larger rows will fail)"));
        }
    }

    /// <summary>libxenstore handles opened by <c>xb_xs_open_many</c>, closed on disposal.</summary>
    private sealed unsafe class Connections(int count) : IDisposable
    {
        private readonly nint[] _handles = new nint[count];

        public uint Open(string socket)
        {
            fixed (nint* handles = _handles)
            {
                return NativeBaseline.XsOpenMany(socket, handles, (uint)_handles.Length);
            }
        }

        public void Dispose()
        {
            fixed (nint* handles = _handles)
            {
                NativeBaseline.XsCloseMany(handles, (uint)_handles.Length);
            }
        }
    }
}
