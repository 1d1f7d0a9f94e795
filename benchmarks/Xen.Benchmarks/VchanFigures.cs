using System.Globalization;
using System.Text.RegularExpressions;
using Xen.Benchmarks.Infrastructure;
using Xen.Store.Vchan;
using Xen.TestSupport.Peers;

namespace Xen.Benchmarks;

/// <summary>
/// <c>vchan</c>: throughput (server to client) and 1-byte round-trip latency of a vchan between two processes playing
/// domains 1 (server) and 2 (client) under the peers' LD_PRELOAD shim, against one real C xenstored, for four pairs:
/// libxenvchan on both ends (<c>tests/native/vchan_peer.c</c>, the baseline), each of ours against it in either role,
/// and ours on both ends (this program re-launched in <see cref="VchanPeer.Command"/> mode, which has vchan_peer's
/// command line and output). Every pair runs with the same server ring minimums, so the same orders (checked), for the
/// in-page rings and for rings in pages of their own; wherever the scheduler puts the two processes, or with
/// <see cref="PinnedOption"/> one CPU per domain. Our ends run with tiered compilation off unless
/// <see cref="TieredOption"/> is given: each run lasts well under a second, about as long as the runtime's tiering takes
/// to promote the hot methods, so with it on the figures are largely tier-0 code and the JIT's background thread.
/// Every end runs under <c>native/cpu_time.c</c>, which reports its CPU time; a mode of this program rather than a
/// BenchmarkDotNet suite because the figures are other processes'.
/// Run: <c>dotnet run -c Release --project benchmarks/Xen.Benchmarks -- vchan [pinned] [tiered]</c>.
/// </summary>
internal static partial class VchanFigures
{
    public const string Command = "vchan";

    /// <summary>The argument that pins the server to CPU 0 and the client to CPU 1.</summary>
    public const string PinnedOption = "pinned";

    /// <summary>The argument that leaves our ends the runtime's default tiered compilation.</summary>
    public const string TieredOption = "tiered";

    private const uint ServerDomain = 1;
    private const uint ClientDomain = 2;
    private const int RoundTrips = 10_000;
    private const int Rounds = 5;
    private const int PinnedRounds = 3; // a pinned round takes about twice as long (every wake-up is of an idle CPU)
    private const double Mib = 1024 * 1024;

    /// <summary>The server's ring minimums (what it reads, what it writes) and how much it sends through them.</summary>
    private static readonly Rings[] RingSizes =
    [
        new("0 / 0 (in the page)", 0, 0, 32L << 20),
        new("65536 / 131072", 65536, 131072, 1L << 30),
        new("1048576 / 1048576", 1 << 20, 1 << 20, 2L << 30),
    ];

    private static readonly (Side Server, Side Client)[] Pairs =
    [
        (Side.LibXenvchan, Side.LibXenvchan),
        (Side.LibXenvchan, Side.Ours),
        (Side.Ours, Side.LibXenvchan),
        (Side.Ours, Side.Ours),
    ];

    /// <summary>
    /// Where the two ends run. Left to the scheduler, a waking end is usually put on the waker's CPU, a hand-off that two
    /// real domains (each on vCPUs of its own) never get; one CPU per domain is the placement two domains have, where
    /// every wake-up of a sleeping end is a wake-up of an idle CPU (and where another load on either CPU is in the way).
    /// </summary>
    private static readonly Placement AnyCpu = new("any (scheduler)", null, null);

    private static readonly Placement OneCpuPerDomain = new("one CPU per domain (0 | 1)", 0, 1);

    private enum Side
    {
        LibXenvchan,
        Ours,
    }

    /// <summary>Runs every pair <see cref="Rounds"/> (pinned: <see cref="PinnedRounds"/>) times and prints the tables.</summary>
    /// <param name="pinned">One CPU per domain (server on CPU 0, client on CPU 1) instead of the scheduler's choice.</param>
    /// <param name="tiered">Our ends with the runtime's default tiered compilation instead of <c>DOTNET_TieredCompilation=0</c>.</param>
    public static async Task<int> RunAsync(bool pinned, bool tiered)
    {
        if (pinned && Environment.ProcessorCount < 2)
        {
            throw new InvalidOperationException($"'{Command} {PinnedOption}' puts the two domains on CPUs 0 and 1; this machine has {Environment.ProcessorCount}.");
        }

        Placement placement = pinned ? OneCpuPerDomain : AnyCpu;
        int rounds = pinned ? PinnedRounds : Rounds;
        await using XenstoredPeer xenstore = await XenstoredPeer.StartAsync(XenstoredKind.C).ConfigureAwait(false);
        await xenstore.WriteAsync(("/local/domain/0/domid", "0"), ("/local/domain/0/name", "Domain-0")).ConfigureAwait(false); // libxenvchan's server reads it
        var throughput = new Dictionary<(Rings, int), List<Transfer>>();
        var latency = new Dictionary<(Rings, int), List<Transfer>>();
        var orders = new Dictionary<Rings, string>();
        var oursStartCpu = new List<double>();
        uint port = 7000;
        for (int round = 0; round < rounds; round++)
        {
            foreach (Rings rings in RingSizes)
            {
                for (int p = 0; p < Pairs.Length; p++)
                {
                    // Alternate the pairs' order between rounds, so a drift of the machine's speed does not favour one.
                    int pair = round % 2 == 0 ? p : Pairs.Length - 1 - p;
                    var run = new PairRun(xenstore, placement, rings, Pairs[pair].Server, Pairs[pair].Client, tiered, oursStartCpu);
                    Transfer bulk = await run.RunAsync(VchanPaths.Qubes(ServerDomain, ClientDomain, port++), ("send", rings.Bytes), ("sink", rings.Bytes)).ConfigureAwait(false);
                    Transfer pings = await run.RunAsync(VchanPaths.Qubes(ServerDomain, ClientDomain, port++), ("echo", null), ("ping", RoundTrips)).ConfigureAwait(false);

                    // Every pair must run on the same rings: the orders libxenvchan's server picks for these minimums.
                    string first = orders.TryAdd(rings, bulk.Orders) ? bulk.Orders : orders[rings];
                    if (bulk.Orders != first || pings.Orders != first)
                    {
                        throw new InvalidOperationException($"Ring orders differ between pairs for {rings.Name}: {first}, {bulk.Orders}, {pings.Orders}.");
                    }

                    Add(throughput, (rings, pair), bulk);
                    Add(latency, (rings, pair), pings);
                }
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"vchan under the shim (an event is a Unix datagram): server domain {ServerDomain}, client domain {ClientDomain}, C xenstored; placement: {placement.Name}; our ends: {(tiered ? "the runtime's default tiered JIT" : "DOTNET_TieredCompilation=0")}; medians of {rounds} rounds, best = the fastest run"));
        Console.WriteLine();
        Console.WriteLine("Throughput, server to client. Ratio ours / libxenvchan: above 1.00 means ours moves more per second. CPU per MiB of each end; CPU ratio: both ends' CPU against the libxenvchan pair's (below 1.00 is less)");
        Console.WriteLine();
        Console.WriteLine("| server rings (read / write min) | orders (left/right) | server | client | MiB | MiB/s | best | ratio | server CPU per MiB | client CPU per MiB | CPU ratio |");
        Console.WriteLine("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (Rings rings in RingSizes)
        {
            double mib = rings.Bytes / Mib;
            List<Transfer> baseline = throughput[(rings, 0)];
            double baseRate = Statistics.Median([.. baseline.Select(t => mib / t.Seconds)]);
            double baseCpu = Statistics.Median([.. baseline.Select(t => t.ServerCpuUs + t.ClientCpuUs)]);
            for (int pair = 0; pair < Pairs.Length; pair++)
            {
                List<Transfer> runs = throughput[(rings, pair)];
                double rate = Statistics.Median([.. runs.Select(t => mib / t.Seconds)]);
                double best = runs.Max(t => mib / t.Seconds);
                double server = Statistics.Median([.. runs.Select(t => t.ServerCpuUs)]) / mib;
                double client = Statistics.Median([.. runs.Select(t => t.ClientCpuUs)]) / mib;
                double cpu = Statistics.Median([.. runs.Select(t => t.ServerCpuUs + t.ClientCpuUs)]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {rings.Name} | {orders[rings]} | {Name(Pairs[pair].Server)} | {Name(Pairs[pair].Client)} | {mib:F0} | {rate:F0} | {best:F0} | {rate / baseRate:F2} | {server:F0} us | {client:F0} us | {cpu / baseCpu:F2} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"1-byte round trip: the client writes and the server echoes, {RoundTrips} per run, mean per round trip. Ratio ours / libxenvchan: below 1.00 means ours is faster. CPU per round trip of each end; CPU ratio as above"));
        Console.WriteLine();
        Console.WriteLine("| server rings (read / write min) | server (echo) | client (ping) | us per round trip | best | ratio | server CPU per round trip | client CPU per round trip | CPU ratio |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (Rings rings in RingSizes)
        {
            List<Transfer> baseline = latency[(rings, 0)];
            double baseUs = Statistics.Median([.. baseline.Select(t => t.Seconds * 1e6 / RoundTrips)]);
            double baseCpu = Statistics.Median([.. baseline.Select(t => t.ServerCpuUs + t.ClientCpuUs)]);
            for (int pair = 0; pair < Pairs.Length; pair++)
            {
                List<Transfer> runs = latency[(rings, pair)];
                double us = Statistics.Median([.. runs.Select(t => t.Seconds * 1e6 / RoundTrips)]);
                double best = runs.Min(t => t.Seconds * 1e6 / RoundTrips);
                double server = Statistics.Median([.. runs.Select(t => t.ServerCpuUs)]) / RoundTrips;
                double client = Statistics.Median([.. runs.Select(t => t.ClientCpuUs)]) / RoundTrips;
                double cpu = Statistics.Median([.. runs.Select(t => t.ServerCpuUs + t.ClientCpuUs)]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {rings.Name} | {Name(Pairs[pair].Server)} | {Name(Pairs[pair].Client)} | {us:F1} | {best:F1} | {us / baseUs:F2} | {server:F1} us | {client:F1} us | {cpu / baseCpu:F2} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"CPU: libxenvchan's ends are the whole process (rusage); ours from connected to done (the runtime's start and the connect, {Statistics.Median(oursStartCpu) / 1000:F0} ms median per process, left out)."));
        Console.WriteLine("Per round, MiB/s; us per round trip:");
        foreach (Rings rings in RingSizes)
        {
            for (int pair = 0; pair < Pairs.Length; pair++)
            {
                IEnumerable<string> rates = throughput[(rings, pair)].Select(t => (rings.Bytes / Mib / t.Seconds).ToString("F0", CultureInfo.InvariantCulture));
                IEnumerable<string> trips = latency[(rings, pair)].Select(t => (t.Seconds * 1e6 / RoundTrips).ToString("F1", CultureInfo.InvariantCulture));
                Console.WriteLine($"  {rings.Name}, {Name(Pairs[pair].Server)} -> {Name(Pairs[pair].Client)}: {string.Join(" ", rates)}; {string.Join(" ", trips)}");
            }
        }

        return 0;
    }

    private static void Add(Dictionary<(Rings, int), List<Transfer>> results, (Rings, int) key, Transfer transfer)
    {
        if (!results.TryGetValue(key, out List<Transfer>? list))
        {
            results[key] = list = [];
        }

        list.Add(transfer);
    }

    private static string Name(Side side) => side == Side.LibXenvchan ? "libxenvchan" : "ours";

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(send|ping) \d+ (\d+)$", RegexOptions.Multiline)]
    private static partial Regex TimedLine();

    [GeneratedRegex(@"^server: read ring 2\^(\d+), write ring 2\^(\d+)$", RegexOptions.Multiline)]
    private static partial Regex OrdersLine();

    [GeneratedRegex(@"^rusage (\d+) (\d+)$", RegexOptions.Multiline)]
    private static partial Regex RusageLine();

    [GeneratedRegex(@"^cpu (\d+)$", RegexOptions.Multiline)]
    private static partial Regex CpuLine();

    /// <summary>A server's ring minimums in bytes (what it reads: left; what it writes: right) and the bytes it sends.</summary>
    private sealed record Rings(string Name, int ReadMin, int WriteMin, long Bytes);

    /// <summary>The CPU each end is pinned to (null: not pinned).</summary>
    private sealed record Placement(string Name, int? ServerCpu, int? ClientCpu);

    /// <summary>One run of a pair: the measured time, each end's CPU time in microseconds, and the server's ring orders.</summary>
    private sealed record Transfer(double Seconds, double ServerCpuUs, double ClientCpuUs, string Orders);

    /// <summary>A pair of ends in a placement, on given rings, started afresh for every run.</summary>
    private sealed class PairRun(XenstoredPeer xenstore, Placement placement, Rings rings, Side serverSide, Side clientSide, bool tiered, List<double> oursStartCpu)
    {
        /// <summary>
        /// Runs the server in <paramref name="serverMode"/> and the client in <paramref name="clientMode"/> on a fresh
        /// path and returns the time the measuring end printed (<c>send BYTES NS</c> from the server, or <c>ping COUNT
        /// NS_PER_ROUND_TRIP</c> from the client) with each end's CPU time.
        /// </summary>
        public async Task<Transfer> RunAsync(string path, (string Mode, long? Arg) serverMode, (string Mode, long? Arg) clientMode)
        {
            Task<PeerCommandResult> serverRun = RunEndAsync(serverSide, "server", ServerDomain, ClientDomain, placement.ServerCpu, path, serverMode);
            Task<PeerCommandResult> clientRun = RunEndAsync(clientSide, "client", ClientDomain, ServerDomain, placement.ClientCpu, path, clientMode);
            PeerCommandResult server = await serverRun.ConfigureAwait(false);
            PeerCommandResult client = await clientRun.ConfigureAwait(false);
            foreach ((string role, Side side, PeerCommandResult result) in new[] { ("server", serverSide, server), ("client", clientSide, client) })
            {
                if (result.ExitCode != 0)
                {
                    throw new InvalidOperationException($"The {role} end ({Name(side)}) exited with {result.ExitCode}: {result.StandardError.Trim()} {result.StandardOutput.Trim()}");
                }
            }

            Match timed = TimedLine().Match(serverMode.Mode == "send" ? server.StandardOutput : client.StandardOutput);
            if (!timed.Success)
            {
                throw new InvalidOperationException($"No timing line from the measuring end: {server.StandardOutput} {client.StandardOutput}");
            }

            double nanoseconds = double.Parse(timed.Groups[2].Value, CultureInfo.InvariantCulture) * (timed.Groups[1].Value == "ping" ? RoundTrips : 1);
            Match orders = OrdersLine().Match(server.StandardError);
            return new Transfer(
                nanoseconds / 1e9,
                CpuMicroseconds(server, serverSide),
                CpuMicroseconds(client, clientSide),
                orders.Success ? $"{orders.Groups[1].Value}/{orders.Groups[2].Value}" : throw new InvalidOperationException($"The server did not print its ring orders: {server.StandardError}"));
        }

        /// <summary>One end as domain <paramref name="domain"/> under the shim and <c>cpu_time</c>, run to its exit (bounded by <see cref="Deadline.Default"/>).</summary>
        private Task<PeerCommandResult> RunEndAsync(Side side, string role, uint domain, uint peer, int? cpu, string path, (string Mode, long? Arg) mode)
        {
            string[] arguments =
            [
                role, Number(peer), path, Number(rings.ReadMin), Number(rings.WriteMin), mode.Mode, .. mode.Arg is long arg ? new[] { Number(arg) } : [],
            ];
            string[] command =
            [
                .. cpu is int c ? new[] { "-c", Number(c) } : [],
                .. side == Side.LibXenvchan
                    ? new[] { XenStoreDaemons.FindAssembly("vchan_peer") }
                    : [XenStoreDaemons.DotnetHost(), XenStoreDaemons.FindAssembly("Xen.Benchmarks.dll"), VchanPeer.Command],
                .. arguments,
            ];
            var environment = new Dictionary<string, string>(xenstore.ClientEnvironment)
            {
                ["LD_PRELOAD"] = xenstore.ShimLibraryPath,
                ["XENSHIM_DIR"] = xenstore.StateDirectory,
                ["XENSHIM_DOMID"] = Number(domain),
            };
            if (side == Side.Ours && !tiered)
            {
                environment["DOTNET_TieredCompilation"] = "0"; // fully optimized from the first call: the run measures the code, not its warm-up
            }

            return PeerCommand.RunAsync(XenStoreDaemons.FindAssembly("cpu_time"), command, environment);
        }

        /// <summary>libxenvchan's end: its whole process (<c>rusage</c>); ours: its <c>cpu</c> line, the rest of its process noted as its start.</summary>
        private double CpuMicroseconds(PeerCommandResult result, Side side)
        {
            Match rusage = RusageLine().Match(result.StandardOutput);
            if (!rusage.Success)
            {
                throw new InvalidOperationException($"cpu_time printed no rusage line: {result.StandardOutput}");
            }

            double whole = double.Parse(rusage.Groups[1].Value, CultureInfo.InvariantCulture) + double.Parse(rusage.Groups[2].Value, CultureInfo.InvariantCulture);
            if (side == Side.LibXenvchan)
            {
                return whole;
            }

            Match own = CpuLine().Match(result.StandardOutput);
            double measured = own.Success ? double.Parse(own.Groups[1].Value, CultureInfo.InvariantCulture)
                : throw new InvalidOperationException($"Our end printed no cpu line: {result.StandardOutput}");
            oursStartCpu.Add(whole - measured);
            return measured;
        }
    }
}
