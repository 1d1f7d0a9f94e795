using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Xen.Benchmarks.Infrastructure;
using Xen.Store.Client;
using Xen.TestSupport.Peers;

namespace Xen.Benchmarks;

/// <summary>
/// What keeping the store on disk costs our server (<c>xen store serve --state-dir</c>), the <c>store-durability</c> mode
/// (a mode rather than a BenchmarkDotNet suite: the figures are other processes' throughput and start-up time).
/// <list type="bullet">
/// <item>WRITE of a 32-byte value, ops/s, against four daemons running side by side, each its own process: our server
/// memory-only (no <c>--state-dir</c>), ours with <c>--state-dir</c> at <c>--durability write</c> and at
/// <c>--durability fsync</c>, and C xenstored (which keeps nothing on disk). Two clients for each: libxenstore's
/// <c>xs_write</c> loop on 4 connections (one thread each, <c>native/xs_bench.c</c>) and our <see cref="XenStoreClient"/>
/// (default settings) with 64 requests in flight. Each measurement runs for a fixed time; the rounds alternate the
/// daemons (in a rotating order) and the table gives the median round.</item>
/// <item>Restart: a state directory is filled with 100 000 nodes of 32 bytes through the server, the server killed with
/// SIGKILL, and the time from starting <c>xen store serve --state-dir</c> to its ready line taken with the journal
/// alone, and again after a compaction has replaced the journal by a snapshot; beside them the same start with no
/// <c>--state-dir</c> and with an empty one.</item>
/// </list>
/// Run: <c>dotnet run -c Release --project benchmarks/Xen.Benchmarks -- store-durability [artifacts/native/xen]</c> (the
/// path runs our server as that native <c>xen</c> instead of this build's <c>dotnet xen.dll</c>). About a minute. The
/// state directories are under <c>/tmp</c>; the run prints which filesystem that is.
/// </summary>
internal static class StoreDurabilityFigures
{
    public const string Command = "store-durability";

    private const string WritePath = "/bench/write";
    private const int LibXenstoreConnections = 4;
    private const int InFlight = 64;
    private const int Rounds = 5;
    private static readonly TimeSpan Measurement = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(0.5);

    private const int Directories = 100;
    private const int PerDirectory = 1000;
    private const int Nodes = Directories * PerDirectory;
    private const int Restarts = 5;

    /// <summary>The threshold the compaction run is started with: far below the journal of 100 000 nodes, so the next change compacts.</summary>
    private const long SmallCompactAfter = 1 << 20;

    private static readonly byte[] Value = Encoding.ASCII.GetBytes("0123456789abcdef0123456789ABCDEF");

    public static async Task<int> RunAsync(string? nativeXen)
    {
        string? native = nativeXen is null ? null : Path.GetFullPath(nativeXen);
        string root = $"/tmp/xsdur-{Environment.ProcessId}";
        Directory.CreateDirectory(root);
        try
        {
            string df = await PeerCommand.RunCheckedAsync("df", ["-T", root]).ConfigureAwait(false);
            Console.WriteLine($"State directories under {root}, on: {df.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last().Trim()}");
            Console.WriteLine($"Our server: {(native ?? $"{XenStoreDaemons.DotnetHost()} {XenStoreDaemons.FindAssembly("xen.dll")}")} store serve --no-fork -D --socket ...");
            double fsyncMicroseconds = AppendFsyncMedian(root);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"One 110-byte append + fsync on this filesystem (median of 300): {fsyncMicroseconds:F0} us, so at most {1e6 / fsyncMicroseconds / 1000:F1} k flushes/s"));
            Console.WriteLine();
            await WriteThroughputAsync(native, root).ConfigureAwait(false);
            Console.WriteLine();
            await RestartAsync(native, root).ConfigureAwait(false);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }

        return 0;
    }

    // (a) WRITE throughput ----------------------------------------------------------------------------------------

    private sealed record Target(string Name, string Socket, string? StateDirectory, IDisposable Stop);

    private sealed class PeerStop(int pid) : IDisposable
    {
        public void Dispose() => PeerDaemons.Stop(pid);
    }

    private static async Task WriteThroughputAsync(string? native, string root)
    {
        // 4 native loops block 4 threads at once: have them ready rather than injected late.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, LibXenstoreConnections + Environment.ProcessorCount), io);

        var targets = new List<Target>();
        var clients = new List<XenStoreClient>();
        try
        {
            string c = Path.Combine(root, "c");
            Directory.CreateDirectory(c);
            targets.Add(new Target("C xenstored", Path.Combine(c, "socket"), null, new PeerStop(PeerDaemons.Start("c", c))));
            foreach ((string name, string[]? durability) in new[]
            {
                ("ours, memory only", (string[]?)null),
                ("ours, --durability write", ["--durability", "write"]),
                ("ours, --durability fsync", ["--durability", "fsync"]),
            })
            {
                string directory = Path.Combine(root, $"a{targets.Count}");
                Directory.CreateDirectory(directory);
                string socket = Path.Combine(directory, "socket");
                string? state = durability is null ? null : Path.Combine(directory, "state");
                string[] options = state is null ? [] : ["--state-dir", state, .. durability!];
                targets.Add(new Target(name, socket, state, await XenStoreServeProcess.StartAsync(native, socket, options).ConfigureAwait(false)));
            }

            foreach (Target t in targets)
            {
                XenStoreClient client = await XenStoreDaemons.ConnectAsync(t.Socket).ConfigureAwait(false);
                clients.Add(client);
                await CheckAsync(t, client).ConfigureAwait(false);
            }

            // Warm-up (the JIT of our server and client), then the rounds, each daemon in turn.
            for (int i = 0; i < targets.Count; i++)
            {
                _ = await LibXenstoreRateAsync(targets[i].Socket, WarmUp).ConfigureAwait(false);
                _ = await ClientRateAsync(clients[i], WarmUp).ConfigureAwait(false);
            }

            var lib = targets.Select(_ => new List<double>()).ToArray();
            var ours = targets.Select(_ => new List<double>()).ToArray();
            for (int round = 0; round < Rounds; round++)
            {
                for (int k = 0; k < targets.Count; k++)
                {
                    int i = (round + k) % targets.Count;
                    lib[i].Add(await LibXenstoreRateAsync(targets[i].Socket, Measurement).ConfigureAwait(false));
                    ours[i].Add(await ClientRateAsync(clients[i], Measurement).ConfigureAwait(false));
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"WRITE of 32 bytes, kops/s: median of {Rounds} rounds of {Measurement.TotalSeconds:F0} s each (min-max); the four daemons run side by side, one measured at a time"));
            Console.WriteLine();
            Console.WriteLine($"| daemon | libxenstore, {LibXenstoreConnections} connections | ours, {InFlight} in flight |");
            Console.WriteLine("|---|---:|---:|");
            for (int i = 0; i < targets.Count; i++)
            {
                Console.WriteLine($"| {targets[i].Name} | {Rate(lib[i])} | {Rate(ours[i])} |");
            }

            double[] libMedian = [.. lib.Select(Statistics.Median)];
            double[] oursMedian = [.. ours.Select(Statistics.Median)];
            const int C = 0, Memory = 1, Write = 2, Fsync = 3;
            Console.WriteLine();
            Console.WriteLine("| ratio (of the medians) | libxenstore, 4 connections | ours, 64 in flight |");
            Console.WriteLine("|---|---:|---:|");
            foreach ((string name, int over, int under) in new[]
            {
                ("ours memory-only / C xenstored", Memory, C),
                ("ours write / C xenstored", Write, C),
                ("ours fsync / C xenstored", Fsync, C),
                ("ours write / ours memory-only", Write, Memory),
                ("ours fsync / ours memory-only", Fsync, Memory),
                ("ours fsync / ours write", Fsync, Write),
            })
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {libMedian[over] / libMedian[under]:F2} | {oursMedian[over] / oursMedian[under]:F2} |"));
            }

            Console.WriteLine();
            Console.WriteLine("| goal (reported, not asserted) | libxenstore, 4 connections | ours, 64 in flight |");
            Console.WriteLine("|---|---|---|");
            Console.WriteLine($"| --durability write >= C xenstored | {Goal(libMedian[Write] / libMedian[C], 1.0)} | {Goal(oursMedian[Write] / oursMedian[C], 1.0)} |");
            // The fsync goal is for many requests in flight: 4 blocking connections have at most 4 WRITEs to share a flush.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| --durability fsync within 2x of memory-only (ratio >= 0.50), 64 in flight | (not a goal: {libMedian[Fsync] / libMedian[Memory]:F2}) | {Goal(oursMedian[Fsync] / oursMedian[Memory], 0.5)} |"));
        }
        finally
        {
            foreach (XenStoreClient client in clients)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }

            foreach (Target t in targets)
            {
                t.Stop.Dispose();
            }
        }
    }

    /// <summary>
    /// Before anything is measured: both clients' writes reach the daemon and read back, and at a state directory each
    /// of them makes the journal grow (a WRITE that was not journalled would make the durable rows meaningless).
    /// </summary>
    private static async Task CheckAsync(Target target, XenStoreClient client)
    {
        const int Writes = 200;
        await client.WriteAsync(WritePath, "x").ConfigureAwait(false);
        long journal0 = JournalBytes(target.StateDirectory);
        if (await LibXenstoreWritesAsync(target.Socket, Writes).ConfigureAwait(false) != Writes * LibXenstoreConnections
            || !(await client.ReadAsync(WritePath).ConfigureAwait(false)).AsSpan().SequenceEqual(Value))
        {
            throw new InvalidOperationException($"{target.Name}: libxenstore's writes do not read back.");
        }

        long journal1 = JournalBytes(target.StateDirectory);
        await client.WriteAsync(WritePath, "x").ConfigureAwait(false);
        await Task.WhenAll(Enumerable.Range(0, InFlight).Select(async _ =>
        {
            for (int i = 0; i < Writes / InFlight + 1; i++)
            {
                await client.WriteAsync(WritePath, Value).ConfigureAwait(false);
            }
        })).ConfigureAwait(false);
        if (!(await client.ReadAsync(WritePath).ConfigureAwait(false)).AsSpan().SequenceEqual(Value))
        {
            throw new InvalidOperationException($"{target.Name}: our client's writes do not read back.");
        }

        long journal2 = JournalBytes(target.StateDirectory);
        long least = (long)Writes * Value.Length;
        if (target.StateDirectory is not null && (journal1 - journal0 < least * LibXenstoreConnections || journal2 - journal1 < least))
        {
            throw new InvalidOperationException(
                $"{target.Name}: the journal in {target.StateDirectory} grew by {journal1 - journal0} and {journal2 - journal1} bytes over the checks' writes: they are not all journalled.");
        }
    }

    /// <summary>The bytes of the journal segments in <paramref name="stateDirectory"/> (0 without one).</summary>
    private static long JournalBytes(string? stateDirectory) =>
        stateDirectory is null ? 0 : new DirectoryInfo(stateDirectory).EnumerateFiles("journal-*").Sum(f => f.Length);

    /// <summary>libxenstore's <c>xs_write</c> loop on <see cref="LibXenstoreConnections"/> connections, one thread each, until <paramref name="duration"/> has passed; ops/s in all.</summary>
    private static async Task<double> LibXenstoreRateAsync(string socket, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        long done = await LibXenstoreAsync(socket, chunk => clock.Elapsed < duration ? chunk : 0).ConfigureAwait(false);
        return done / clock.Elapsed.TotalSeconds;
    }

    private static Task<long> LibXenstoreWritesAsync(string socket, int perConnection) =>
        LibXenstoreAsync(socket, chunk => chunk, perConnection);

    /// <summary>
    /// Opens <see cref="LibXenstoreConnections"/> libxenstore connections and on each, on a thread of its own, calls the
    /// C loop for as many writes as <paramref name="next"/> says (it is asked with the chunk size, 0 stops), up to
    /// <paramref name="limit"/> per connection; the writes done in all.
    /// </summary>
    private static async Task<long> LibXenstoreAsync(string socket, Func<uint, uint> next, int limit = int.MaxValue)
    {
        const uint Chunk = 32;
        nint path = Marshal.StringToHGlobalAnsi(WritePath);
        nint value = Marshal.AllocHGlobal(Value.Length);
        Marshal.Copy(Value, 0, value, Value.Length);
        nint[] handles = [.. Enumerable.Range(0, LibXenstoreConnections).Select(_ => NativeBaseline.XsOpen(socket))];
        try
        {
            if (handles.Any(h => h == 0))
            {
                throw new InvalidOperationException($"libxenstore could not connect to {socket}.");
            }

            long[] done = await Task.WhenAll(handles.Select(h => Task.Factory.StartNew(() =>
            {
                long n = 0;
                for (uint count; n < limit && (count = (uint)Math.Min(next(Chunk), limit - n)) > 0; n += count)
                {
                    if (NativeBaseline.XsWriteLoop(h, path, value, (uint)Value.Length, count) != count)
                    {
                        throw new InvalidOperationException("An xs_write loop failed.");
                    }
                }

                return n;
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))).ConfigureAwait(false);
            return done.Sum();
        }
        finally
        {
            foreach (nint h in handles)
            {
                NativeBaseline.XsClose(h);
            }

            Marshal.FreeHGlobal(path);
            Marshal.FreeHGlobal(value);
        }
    }

    /// <summary><see cref="InFlight"/> loops of <c>await WriteAsync</c> on one connection until <paramref name="duration"/> has passed; ops/s.</summary>
    private static async Task<double> ClientRateAsync(XenStoreClient client, TimeSpan duration)
    {
        long done = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, InFlight).Select(async _ =>
        {
            long n = 0;
            while (clock.Elapsed < duration)
            {
                await client.WriteAsync(WritePath, Value).ConfigureAwait(false);
                n++;
            }

            Interlocked.Add(ref done, n);
        })).ConfigureAwait(false);
        return done / clock.Elapsed.TotalSeconds;
    }

    private static string Rate(List<double> rates) => string.Create(CultureInfo.InvariantCulture,
        $"{Statistics.Median(rates) / 1000:F1} ({rates.Min() / 1000:F1}-{rates.Max() / 1000:F1})");

    private static string Goal(double ratio, double goal) => string.Create(CultureInfo.InvariantCulture,
        $"{ratio:F2}: {(ratio >= goal ? "met" : "not met")}");

    /// <summary>The median time of one append of a journal-sized record and its fsync, in a file under <paramref name="directory"/>.</summary>
    private static double AppendFsyncMedian(string directory)
    {
        string file = Path.Combine(directory, "fsync-probe");
        var times = new List<double>();
        byte[] record = new byte[110];
        using (var h = File.OpenHandle(file, FileMode.Create, FileAccess.Write))
        {
            for (int i = 0; i < 300; i++)
            {
                long start = Stopwatch.GetTimestamp();
                RandomAccess.Write(h, record, (long)i * record.Length);
                RandomAccess.FlushToDisk(h);
                times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }
        }

        File.Delete(file);
        return Statistics.Median(times);
    }

    // (b) restart -------------------------------------------------------------------------------------------------

    private static async Task RestartAsync(string? native, string root)
    {
        string journalOnly = Path.Combine(root, "journal");
        string compacted = Path.Combine(root, "snapshot");
        string socket = Path.Combine(root, "restart.socket");

        // Fill a state directory through the server (write durability, the default threshold: 100 000 nodes stay in the journal).
        TimeSpan filled;
        using (XenStoreServeProcess server = await XenStoreServeProcess.StartAsync(native, socket, ["--state-dir", journalOnly]).ConfigureAwait(false))
        {
            await using XenStoreClient client = await XenStoreDaemons.ConnectAsync(socket).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            await WriteNodesAsync(client).ConfigureAwait(false);
            filled = clock.Elapsed;
            await CheckNodesAsync(client).ConfigureAwait(false);
        } // SIGKILL

        if (File.Exists(Path.Combine(journalOnly, "snapshot")))
        {
            throw new InvalidOperationException($"{journalOnly} has a snapshot after {Nodes} nodes: the journal-only row would not be one.");
        }

        string journalFiles = Describe(journalOnly);

        // A copy compacted: started on it with a small threshold, one more WRITE hands the whole state to a snapshot.
        CopyDirectory(journalOnly, compacted);
        TimeSpan compaction;
        using (XenStoreServeProcess server = await XenStoreServeProcess.StartAsync(native, socket,
            ["--state-dir", compacted, "--compact-after", SmallCompactAfter.ToString(CultureInfo.InvariantCulture)]).ConfigureAwait(false))
        {
            await using XenStoreClient client = await XenStoreDaemons.ConnectAsync(socket).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            await client.WriteAsync("/compact", "now").ConfigureAwait(false);
            while (!File.Exists(Path.Combine(compacted, "snapshot")) || File.Exists(Path.Combine(compacted, "snapshot.tmp"))
                || Directory.GetFiles(compacted, "journal-*").Length > 1)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new InvalidOperationException($"No snapshot replaced the journal in {compacted} within 60 s: {Describe(compacted)}; stderr: {server.StandardError}");
                }

                await Task.Delay(5).ConfigureAwait(false);
            }

            compaction = clock.Elapsed;
        } // SIGKILL

        string snapshotFiles = Describe(compacted);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Restart: {Nodes} nodes of 32 bytes ({Directories} directories of {PerDirectory}) written through the server ({InFlight} in flight, --durability write) in {filled.TotalSeconds:F2} s, then SIGKILL."));
        Console.WriteLine($"  journal only: {journalFiles}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  compacted (a copy restarted with --compact-after {SmallCompactAfter}, one WRITE, snapshot in place {compaction.TotalMilliseconds:F0} ms later, SIGKILL): {snapshotFiles}"));
        Console.WriteLine();

        // Time to the ready line, the four starts alternating; the first start of each is a warm-up of the page cache.
        var cases = new (string Name, Func<int, string[]> Options, string? Expect, bool Full)[]
        {
            ("no --state-dir (memory only)", _ => [], null, false),
            ("--state-dir, empty directory", run => ["--state-dir", Path.Combine(root, $"empty{run}")], null, false),
            ($"--state-dir, {Nodes} nodes in the journal", _ => ["--state-dir", journalOnly], "journal records", true),
            ($"--state-dir, {Nodes} nodes in a snapshot", _ => ["--state-dir", compacted], "snapshot and", true),
        };
        var times = cases.Select(_ => new List<double>()).ToArray();
        var resumed = new string?[cases.Length];
        for (int run = -1; run < Restarts; run++)
        {
            for (int i = 0; i < cases.Length; i++)
            {
                (string name, Func<int, string[]> options, string? expect, bool full) = cases[i];
                using XenStoreServeProcess server = await XenStoreServeProcess.StartAsync(native, socket, options(run + 1)).ConfigureAwait(false);
                if (run >= 0)
                {
                    times[i].Add(server.TimeToReady.TotalSeconds);
                }

                if (expect is not null)
                {
                    resumed[i] = await server.WaitForErrorLineAsync("resumed", TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                    if (resumed[i] is not { } line || !line.Contains(expect, StringComparison.Ordinal))
                    {
                        throw new InvalidOperationException($"{name}: expected a resumed line with \"{expect}\", got: {server.StandardError}");
                    }
                }

                await using XenStoreClient client = await XenStoreDaemons.ConnectAsync(socket).ConfigureAwait(false);
                if (full)
                {
                    await CheckNodesAsync(client).ConfigureAwait(false);
                }
                else if ((await client.DirectoryAsync("/").ConfigureAwait(false)).Contains("mem"))
                {
                    throw new InvalidOperationException($"{name}: the store is not empty.");
                }
            } // SIGKILL
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Time from starting xen store serve to its ready line (median of {Restarts}, min-max, seconds; the state directory's files in the page cache)"));
        Console.WriteLine();
        Console.WriteLine("| start | seconds | over memory-only start |");
        Console.WriteLine("|---|---:|---:|");
        double baseline = Statistics.Median(times[0]);
        for (int i = 0; i < cases.Length; i++)
        {
            double median = Statistics.Median(times[i]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {cases[i].Name} | {median:F3} ({times[i].Min():F3}-{times[i].Max():F3}) | +{median - baseline:F3} s |"));
        }

        Console.WriteLine();
        foreach (string? line in resumed.Where(l => l is not null))
        {
            Console.WriteLine($"  {line}");
        }
    }

    private static Task WriteNodesAsync(XenStoreClient client) =>
        Task.WhenAll(Enumerable.Range(0, InFlight).Select(async loop =>
        {
            for (int i = loop; i < Nodes; i += InFlight)
            {
                await client.WriteAsync(NodePath(i), Value).ConfigureAwait(false);
            }
        }));

    /// <summary>Every directory holds its 1000 nodes, and a sample of values reads back.</summary>
    private static async Task CheckNodesAsync(XenStoreClient client)
    {
        IReadOnlyList<string> top = await client.DirectoryAsync("/mem").ConfigureAwait(false);
        int children = 0;
        for (int d = 0; d < Directories; d++)
        {
            children += (await client.DirectoryAsync($"/mem/{d}").ConfigureAwait(false)).Count;
        }

        for (int i = 7; i < Nodes; i += 9973)
        {
            if (!(await client.ReadAsync(NodePath(i)).ConfigureAwait(false)).AsSpan().SequenceEqual(Value))
            {
                throw new InvalidOperationException($"{NodePath(i)} does not hold the value written.");
            }
        }

        if (top.Count != Directories || children != Nodes)
        {
            throw new InvalidOperationException($"The store holds {top.Count} directories and {children} nodes under /mem, not {Directories} and {Nodes}.");
        }
    }

    private static string NodePath(int i) => string.Create(CultureInfo.InvariantCulture, $"/mem/{i / PerDirectory}/{i % PerDirectory}");

    /// <summary>The files of a state directory and their sizes.</summary>
    private static string Describe(string directory) => string.Join(", ",
        new DirectoryInfo(directory).EnumerateFiles().OrderBy(f => f.Name, StringComparer.Ordinal)
            .Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Name} {f.Length / 1048576.0:F1} MiB")));

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}
