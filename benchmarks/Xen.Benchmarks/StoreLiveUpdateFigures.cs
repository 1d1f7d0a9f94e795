using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xen.Benchmarks.Infrastructure;
using Xen.Store.Client;
using Xen.TestSupport.Peers;

namespace Xen.Benchmarks;

/// <summary>
/// How long a live update pauses the store, ours against C xenstored 4.17, the <c>store-live-update</c> mode (a mode
/// rather than a BenchmarkDotNet suite: the figures are other processes' wall time). Xen's own
/// <c>xenstore-control live-update BINARY</c> makes the daemon dump its state and execute <c>BINARY</c> in its own
/// process, its clients' connections kept; it exits 0 once the new process has answered its request "OK".
/// <list type="bullet">
/// <item>Each round starts a fresh daemon with the peers' <c>run_xenstored.sh</c> (C xenstored: <c>c DIR</c>, updated
/// to <c>/usr/lib/xen-4.17/bin/xenstored</c> itself, which re-executes itself with its arguments and <c>-U</c>; ours:
/// <c>XENSTORED_OURS="XEN store serve" ... ours DIR</c>, updated to a script that executes this build's
/// <c>dotnet xen.dll</c>, or to the native <c>xen</c> given on the command line) and fills it with N nodes
/// (<c>/fill/d&lt;i/1000&gt;/n&lt;i&gt;</c> = <c>value-&lt;i&gt;</c>, 64 WRITEs in flight on one connection of our client,
/// which stays connected through the update).</item>
/// <item>(a) the pause: from starting <c>xenstore-control live-update</c> until it exits with status 0 (its "OK" comes
/// from the new process);</item>
/// <item>(a') the first reply on the connection from before the update: a READ of <c>/fill/d0/n0</c> on our client's
/// connection, sent once <c>xenstore-control</c> has exited, timed from the same start (beside (a), since the "OK" may
/// leave the new process before it serves its connections);</item>
/// <item>(b) the first reply to a new connection: a READ of <c>/fill/d0/n0</c> on a connection made right after
/// <c>xenstore-control</c> exits, timed from the start of <c>xenstore-control</c>;</item>
/// <item>(c) the check: the same pid, now with <c>-U</c>; all N nodes listed under <c>/fill</c> and a sample read back on
/// the new connection, and a node read on the connection from before the update. A round whose check fails is an
/// error, with one exception, reported as such: C xenstored's new process dying under the shim right after its "OK"
/// (<see cref="DiedUnderShim"/>), where (a) is taken and (a'), (b) and (c) cannot be.</item>
/// </list>
/// N = 10 000 and 100 000, <see cref="Rounds"/> rounds of each daemon, alternating; the figures are medians.
/// Run: <c>dotnet run -c Release --project benchmarks/Xen.Benchmarks -- store-live-update [artifacts/native/xen]</c>
/// (about a minute and a half).
/// </summary>
internal static class StoreLiveUpdateFigures
{
    public const string Command = "store-live-update";

    private const string XenstoreControl = PeerPrograms.XenToolsDirectory + "/xenstore-control";
    private const int PerDirectory = 1000;
    private const int InFlight = 64;
    private const int Rounds = 5;
    private const string ProbePath = "/fill/d0/n0";
    private static readonly int[] Sizes = [10_000, 100_000];
    private static readonly TimeSpan FirstReplyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>What C xenstored prints when the event channel descriptor it kept for its new self is not there.</summary>
    private const string ShimFault = "xce_handle poll failed";

    /// <summary>A daemon as this mode starts and updates it.</summary>
    /// <param name="Name">For the tables.</param>
    /// <param name="Kind"><c>run_xenstored.sh</c>'s kind.</param>
    /// <param name="Environment">For <c>run_xenstored.sh</c> (<c>XENSTORED_OURS</c>).</param>
    /// <param name="Binary">What <c>xenstore-control live-update</c> is given.</param>
    private sealed record Daemon(string Name, string Kind, IReadOnlyDictionary<string, string>? Environment, string Binary);

    /// <summary>One round's figures, seconds from the start of <c>xenstore-control</c>; the replies null when the new process died under the shim.</summary>
    /// <param name="Pause">(a): until <c>xenstore-control</c> exited 0.</param>
    /// <param name="CarriedReply">(a'): until the connection from before the update answered a READ sent once <c>xenstore-control</c> had exited.</param>
    /// <param name="FirstReply">(b): until a connection made once <c>xenstore-control</c> had exited answered its first READ.</param>
    /// <param name="Note">Why the replies are missing.</param>
    private sealed record Round(double Pause, double? CarriedReply, double? FirstReply, string? Note);

    public static async Task<int> RunAsync(string? nativeXen)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The live update figures need Linux: Xen's tools under the shim.");
        }

        PeerPrograms.Require(requirePeersScripts: true, XenstoreControl, PeerPrograms.Xenstored);
        string? native = nativeXen is null ? null : Path.GetFullPath(nativeXen);
        if (native is not null && !File.Exists(native))
        {
            throw new InvalidOperationException($"{native} does not exist: publish it first (dotnet publish src/Xen.Tool -c Release -r linux-x64 -p:PublishAot=true -o artifacts/native).");
        }

        string root = $"/tmp/xslu-{Environment.ProcessId}";
        Directory.CreateDirectory(root);
        try
        {
            string ours;
            string oursBinary;
            if (native is null)
            {
                ours = $"{XenStoreDaemons.DotnetHost()} {XenStoreDaemons.FindAssembly("xen.dll")}";
                oursBinary = Path.Combine(root, "xen-update");
                await File.WriteAllTextAsync(oursBinary, $"#!/bin/sh\nexec {ours} \"$@\"\n").ConfigureAwait(false);
                File.SetUnixFileMode(oursBinary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                    | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            }
            else
            {
                ours = native;
                oursBinary = native;
            }

            Daemon[] daemons =
            [
                new("ours", "ours", new Dictionary<string, string> { ["XENSTORED_OURS"] = $"{ours} store serve" }, oursBinary),
                new("C xenstored", "c", null, PeerPrograms.Xenstored),
            ];
            const int Ours = 0, C = 1;
            Console.WriteLine($"Live update ({XenstoreControl} live-update BINARY), a fresh daemon per round, started by run_xenstored.sh under the shim:");
            Console.WriteLine($"  ours: {ours} store serve, updated to {oursBinary}{(native is null ? $" (exec {ours} \"$@\")" : "")}");
            Console.WriteLine($"  C xenstored: {PeerPrograms.Xenstored}, updated to itself");
            Console.WriteLine($"Before each update: N nodes /fill/d<i/{PerDirectory}>/n<i> = value-<i>, {InFlight} WRITEs in flight on one connection of our client, which stays connected.");
            Console.WriteLine();

            var rounds = new Dictionary<(int Daemon, int Size), List<Round>>();
            foreach (int size in Sizes)
            {
                for (int d = 0; d < daemons.Length; d++)
                {
                    rounds[(d, size)] = [];
                }

                for (int round = 0; round < Rounds; round++)
                {
                    for (int k = 0; k < daemons.Length; k++)
                    {
                        int d = (round + k) % daemons.Length;
                        string directory = Path.Combine(root, string.Create(CultureInfo.InvariantCulture, $"{daemons[d].Kind}{size}-{round}"));
                        rounds[(d, size)].Add(await RoundAsync(daemons[d], size, directory).ConfigureAwait(false));
                    }
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Seconds from the start of xenstore-control, median of {Rounds} rounds (min-max): (a) until xenstore-control live-update exits 0 (its OK from the new process); (b) until a new connection, made once it has exited, has its first READ answered. Ratios ours / C of the medians (below 1: ours pauses less)."));
            Console.WriteLine();
            Console.WriteLine("| N | ours (a) | C (a) | ours/C (a) | ours (b) | C (b) | ours/C (b) |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
            foreach (int size in Sizes)
            {
                List<Round> o = rounds[(Ours, size)], c = rounds[(C, size)];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {size:N0} | {Cells(o, c, r => r.Pause)} | {Cells(o, c, r => r.FirstReply)} |"));
            }

            Console.WriteLine();
            Console.WriteLine("(a') from the same start, until the connection from before the update (our client's, which filled the store) answers a READ sent once xenstore-control has exited:");
            Console.WriteLine();
            Console.WriteLine("| N | ours (a') | C (a') | ours/C (a') |");
            Console.WriteLine("|---:|---:|---:|---:|");
            foreach (int size in Sizes)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {size:N0} | {Cells(rounds[(Ours, size)], rounds[(C, size)], r => r.CarriedReply)} |"));
            }

            Console.WriteLine();
            Console.WriteLine("Rounds in the order run, seconds (a) / (a') / (b):");
            foreach (int size in Sizes)
            {
                for (int d = 0; d < daemons.Length; d++)
                {
                    string each = string.Join("  ", rounds[(d, size)].Select(r => $"{Figure(r.Pause)} / {Figure(r.CarriedReply)} / {Figure(r.FirstReply)}"));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {daemons[d].Name}, N = {size}: {each}"));
                }
            }

            foreach (string note in rounds.Values.SelectMany(r => r).Select(r => r.Note).OfType<string>().Distinct())
            {
                Console.WriteLine();
                Console.WriteLine(note);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }

        return 0;
    }

    /// <summary>Starts <paramref name="daemon"/> in <paramref name="directory"/>, fills it with <paramref name="nodes"/> nodes, updates it, times and checks it, and stops it.</summary>
    private static async Task<Round> RoundAsync(Daemon daemon, int nodes, string directory)
    {
        Directory.CreateDirectory(directory);
        string socket = Path.Combine(directory, "socket");
        int pid = PeerDaemons.Start(daemon.Kind, directory, daemon.Environment);
        try
        {
            await using XenStoreClient connected = await XenStoreDaemons.ConnectAsync(socket).ConfigureAwait(false);
            await FillAsync(connected, nodes).ConfigureAwait(false);
            await CheckAsync(connected, nodes, $"{daemon.Name} before the update").ConfigureAwait(false);

            var clients = new Dictionary<string, string> { ["XENSTORED_PATH"] = socket };
            long start = Stopwatch.GetTimestamp();
            PeerCommandResult update = await PeerCommand.RunAsync(XenstoreControl, ["live-update", daemon.Binary], clients).ConfigureAwait(false);
            double pause = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (update.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"{daemon.Name}, {nodes} nodes: xenstore-control live-update {daemon.Binary} exited with {update.ExitCode}: {update.StandardError.Trim()} {update.StandardOutput.Trim()}\nthe daemon:\n{DaemonOutput(directory)}");
            }

            // Right after xenstore-control: a READ on the connection from before the update, and one on a new connection.
            double firstReply, carriedReply;
            try
            {
                using var timeout = new CancellationTokenSource(FirstReplyTimeout);
                double[] replies = await Task.WhenAll(
                    TimedReadAsync(connected, start, timeout.Token), NewConnectionReadAsync(socket, start, timeout.Token)).ConfigureAwait(false);
                (carriedReply, firstReply) = (replies[0], replies[1]);
                await using XenStoreClient check = await XenStoreClient.ConnectAsync(socket, null, timeout.Token).ConfigureAwait(false);
                await CheckAsync(check, nodes, $"{daemon.Name} after the update, a new connection").ConfigureAwait(false);
            }
            catch (Exception e) when (daemon.Kind == "c" && DiedUnderShim(pid, directory))
            {
                return new Round(pause, null, null,
                    $"C xenstored: the new process answered xenstore-control's OK (so (a) is taken) and then exited with \"FATAL: {ShimFault}\" "
                    + $"({e.GetType().Name} on the connections): the shim opens every event channel handle with SOCK_CLOEXEC, also C's "
                    + "xenevtchn_open(NULL, XENEVTCHN_NO_CLOEXEC), so the descriptor C hands to its new self is closed by the exec. "
                    + "(a'), (b) and the store check (c) cannot be taken for C under this shim.");
            }

            // The connection from before the update carried on, in the same process, now the new binary with -U.
            string last = await connected.ReadStringAsync(NodePath(nodes - 1)).ConfigureAwait(false);
            string commandLine = ProcessStat.IsRunning(pid) ? CommandLine(pid) : "(gone)";
            if (last != Value(nodes - 1) || !commandLine.Split(' ').Contains("-U"))
            {
                throw new InvalidOperationException(
                    $"{daemon.Name}, {nodes} nodes: after the update the old connection read \"{last}\" at {NodePath(nodes - 1)} and pid {pid} runs {commandLine}.");
            }

            return new Round(pause, carriedReply, firstReply, null);
        }
        finally
        {
            // Only the daemon this round started: a dead one's pid may already belong to another process.
            if (ProcessStat.IsRunning(pid) && CommandLine(pid).Contains(directory, StringComparison.Ordinal))
            {
                PeerDaemons.Stop(pid);
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A READ of <see cref="ProbePath"/> on <paramref name="client"/>: the seconds from <paramref name="start"/> to its reply.</summary>
    private static async Task<double> TimedReadAsync(XenStoreClient client, long start, CancellationToken cancellationToken)
    {
        string probe = await client.ReadStringAsync(ProbePath, cancellationToken).ConfigureAwait(false);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return probe == Value(0) ? seconds : throw new InvalidOperationException($"{ProbePath} reads \"{probe}\" after the update.");
    }

    /// <summary>Connects to <paramref name="socket"/> and times its first READ (<see cref="TimedReadAsync"/>).</summary>
    private static async Task<double> NewConnectionReadAsync(string socket, long start, CancellationToken cancellationToken)
    {
        await using XenStoreClient client = await XenStoreClient.ConnectAsync(socket, null, cancellationToken).ConfigureAwait(false);
        return await TimedReadAsync(client, start, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// C xenstored's new process is gone and said why: the event channel descriptor it kept across the exec was closed
    /// (the shim's fault, not the daemon's).
    /// </summary>
    private static bool DiedUnderShim(int pid, string directory)
    {
        for (int i = 0; i < 100 && ProcessStat.IsRunning(pid); i++)
        {
            Thread.Sleep(20);
        }

        return !ProcessStat.IsRunning(pid) && DaemonOutput(directory).Contains(ShimFault, StringComparison.Ordinal);
    }

    private static Task FillAsync(XenStoreClient client, int nodes) =>
        Task.WhenAll(Enumerable.Range(0, InFlight).Select(async loop =>
        {
            for (int i = loop; i < nodes; i += InFlight)
            {
                await client.WriteAsync(NodePath(i), Value(i)).ConfigureAwait(false);
            }
        }));

    /// <summary>The store holds exactly <paramref name="nodes"/> nodes under <c>/fill</c> (DIRECTORY of each directory), and a sample reads back.</summary>
    private static async Task CheckAsync(XenStoreClient client, int nodes, string when)
    {
        int directories = (nodes + PerDirectory - 1) / PerDirectory;
        IReadOnlyList<string> top = await client.DirectoryAsync("/fill").ConfigureAwait(false);
        int[] counts = await Task.WhenAll(Enumerable.Range(0, directories).Select(async d =>
            (await client.DirectoryAsync(string.Create(CultureInfo.InvariantCulture, $"/fill/d{d}")).ConfigureAwait(false)).Count)).ConfigureAwait(false);
        if (top.Count != directories || counts.Sum() != nodes)
        {
            throw new InvalidOperationException($"{when}: /fill holds {top.Count} directories and {counts.Sum()} nodes, not {directories} and {nodes}.");
        }

        int[] sample = [.. Enumerable.Range(0, nodes / 997).Select(k => k * 997 + 13).Where(i => i < nodes), nodes - 1];
        string[] values = await Task.WhenAll(sample.Select(async i => await client.ReadStringAsync(NodePath(i)).ConfigureAwait(false))).ConfigureAwait(false);
        for (int k = 0; k < sample.Length; k++)
        {
            if (values[k] != Value(sample[k]))
            {
                throw new InvalidOperationException($"{when}: {NodePath(sample[k])} reads \"{values[k]}\", not \"{Value(sample[k])}\".");
            }
        }
    }

    private static string NodePath(int i) => string.Create(CultureInfo.InvariantCulture, $"/fill/d{i / PerDirectory}/n{i}");

    private static string Value(int i) => string.Create(CultureInfo.InvariantCulture, $"value-{i}");

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static string DaemonOutput(string directory)
    {
        string file = Path.Combine(directory, "daemon.out");
        return File.Exists(file) ? File.ReadAllText(file, Encoding.UTF8) : "";
    }

    /// <summary>Ours, C and the ratio of the medians of one figure, as three table cells; "-" where C has none (its new process died under the shim).</summary>
    private static string Cells(List<Round> ours, List<Round> c, Func<Round, double?> figure)
    {
        double[] o = [.. ours.Select(figure).OfType<double>()], cs = [.. c.Select(figure).OfType<double>()];
        string Seconds(double[] v, int of) => v.Length == 0 ? "-" : string.Create(CultureInfo.InvariantCulture,
            $"{Statistics.Median(v):F3} ({v.Min():F3}-{v.Max():F3}){(v.Length < of ? $", {v.Length} of {of} rounds" : "")}");
        string ratio = o.Length == 0 || cs.Length == 0 ? "-"
            : (Statistics.Median(o) / Statistics.Median(cs)).ToString("F2", CultureInfo.InvariantCulture);
        return $"{Seconds(o, ours.Count)} | {Seconds(cs, c.Count)} | {ratio}";
    }

    private static string Figure(double? seconds) => seconds is { } s ? s.ToString("F3", CultureInfo.InvariantCulture) : "-";
}
