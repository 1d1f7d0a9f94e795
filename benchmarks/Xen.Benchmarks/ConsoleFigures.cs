using System.Diagnostics;
using System.Globalization;
using Xen.Benchmarks.Infrastructure;
using Xen.TestSupport.Peers;

namespace Xen.Benchmarks;

/// <summary>
/// <c>console</c>: guest console output through the real xenconsoled and through ours (<c>xen console serve</c>), each
/// started as xenconsoled is (<c>-i --log=guest</c>, under the peers' shim, against a real C xenstored), fed by the same
/// guest program (<c>native/console_guest.c</c>, console.h alone, one process per guest): throughput from the guests'
/// first byte until the daemon has taken their last, and the daemon's CPU time per MiB (the sum over its threads of
/// <c>/proc/PID/task/*/schedstat</c>). Cases: one guest logged with nobody on its pty, one guest logged with a reader
/// on its pty (throughput until the reader has everything), and 20 guests printing at once. Each daemon gets a
/// warm-up pass per guest first (512 KiB: ours is JIT-compiled, and a daemon runs for months), not counted. Both daemons apply xenconsoled's rate limit (30
/// events per 200 ms, a ring of 2048 bytes per event), so throughput is about 300 KiB/s a guest for both: the
/// difference is in CPU. A mode of this program rather than a BenchmarkDotNet suite because the figures are other
/// processes'. Run: <c>dotnet run -c Release --project benchmarks/Xen.Benchmarks -- console</c> (about 2 minutes).
/// </summary>
internal static class ConsoleFigures
{
    public const string Command = "console";

    private const int Rounds = 3;
    private const int WarmUpBytes = 512 * 1024; // about 1.7 s a guest: long enough for the runtime to have compiled our hot paths fully
    private const double Mib = 1024 * 1024;

    private static readonly Case[] Cases =
    [
        new("1 guest, log, nobody on the pty", 1, 1 << 20, PtyReader: false),
        new("1 guest, log and a pty reader", 1, 1 << 20, PtyReader: true),
        new("20 guests at once, logs", 20, 128 << 10, PtyReader: false),
    ];

    private static readonly ConsoleDaemonKind[] Daemons = [ConsoleDaemonKind.Xenconsoled, ConsoleDaemonKind.Ours];

    public static async Task<int> RunAsync()
    {
        string guestProgram = Path.Combine(AppContext.BaseDirectory, "console_guest");
        var runs = new Dictionary<(Case, ConsoleDaemonKind), List<Run>>();
        for (int round = 0; round < Rounds; round++)
        {
            foreach (Case @case in Cases)
            {
                for (int d = 0; d < Daemons.Length; d++)
                {
                    ConsoleDaemonKind daemon = Daemons[round % 2 == 0 ? d : Daemons.Length - 1 - d]; // alternate who goes first
                    Run run = await RunCaseAsync(guestProgram, @case, daemon).ConfigureAwait(false);
                    if (!runs.TryGetValue((@case, daemon), out List<Run>? list))
                    {
                        runs[(@case, daemon)] = list = [];
                    }

                    list.Add(run);
                }
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Console output under the shim (an event is a Unix datagram), C xenstored; medians of {Rounds} rounds. Ratios ours / xenconsoled: MiB/s above 1.00 is faster, CPU below 1.00 is less."));
        Console.WriteLine();
        Console.WriteLine("| case | daemon | MiB | MiB/s | CPU per MiB | MiB/s ratio | CPU ratio |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (Case @case in Cases)
        {
            double mib = @case.Guests * (double)@case.BytesPerGuest / Mib;
            double baseRate = Statistics.Median([.. runs[(@case, ConsoleDaemonKind.Xenconsoled)].Select(r => mib / r.Seconds)]);
            double baseCpu = Statistics.Median([.. runs[(@case, ConsoleDaemonKind.Xenconsoled)].Select(r => r.CpuMs)]);
            foreach (ConsoleDaemonKind daemon in Daemons)
            {
                List<Run> list = runs[(@case, daemon)];
                double rate = Statistics.Median([.. list.Select(r => mib / r.Seconds)]);
                double cpu = Statistics.Median([.. list.Select(r => r.CpuMs)]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {@case.Name} | {(daemon == ConsoleDaemonKind.Ours ? "ours" : "xenconsoled")} | {mib:F2} | {rate:F3} | {cpu / mib:F1} ms | {rate / baseRate:F2} | {cpu / baseCpu:F2} |"));
            }
        }

        return 0;
    }

    private static async Task<Run> RunCaseAsync(string guestProgram, Case @case, ConsoleDaemonKind daemon)
    {
        ConsoleGuestOptions[] guests = [.. Enumerable.Range(5, @case.Guests).Select(d => new ConsoleGuestOptions { DomainId = (uint)d, Name = $"guest{d}" })];
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(XenstoredKind.C).ConfigureAwait(false);
        await using XenconsoledPeer console = await XenconsoledPeer.StartAsync(store, guests, daemon).ConfigureAwait(false);
        await Task.WhenAll(guests.Select(g => GuestAsync(guestProgram, store, g, WarmUpBytes))).ConfigureAwait(false);

        FileStream? tty = @case.PtyReader ? await console.OpenTtyAsync().ConfigureAwait(false) : null;
        try
        {
            // A reader on the pty: it first drains what the warm-up left there, then counts the measured bytes.
            Task<long>? reading = tty is null ? null : ReadAsync(tty, WarmUpBytes + (long)@case.BytesPerGuest);
            long cpuBefore = CpuNanoseconds(console.DaemonProcessId);
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(guests.Select(g => GuestAsync(guestProgram, store, g, @case.BytesPerGuest))).ConfigureAwait(false);
            if (reading is not null)
            {
                await reading.ConfigureAwait(false);
            }

            double seconds = clock.Elapsed.TotalSeconds;
            long cpu = CpuNanoseconds(console.DaemonProcessId) - cpuBefore;
            return new Run(seconds, cpu / 1e6);
        }
        finally
        {
            if (tty is not null)
            {
                await tty.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs the guest program for one guest; it returns once the daemon has taken everything it printed.</summary>
    private static async Task GuestAsync(string program, XenstoredPeer store, ConsoleGuestOptions guest, int byteCount)
    {
        PeerCommandResult result = await PeerCommand.RunAsync(program, [
            store.StateDirectory,
            guest.DomainId.ToString(CultureInfo.InvariantCulture),
            guest.Port.ToString(CultureInfo.InvariantCulture),
            byteCount.ToString(CultureInfo.InvariantCulture)]).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"console_guest for domain {guest.DomainId} failed ({result.ExitCode}): {result.StandardOutput}{result.StandardError}");
        }
    }

    private static async Task<long> ReadAsync(FileStream tty, long byteCount)
    {
        byte[] buffer = new byte[65536];
        long total = 0;
        while (total < byteCount)
        {
            int n = await tty.ReadAsync(buffer).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    /// <summary>The CPU time of every thread of process <paramref name="pid"/> so far, from <c>/proc/PID/task/*/schedstat</c> (nanoseconds).</summary>
    private static long CpuNanoseconds(int pid)
    {
        long total = 0;
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            try
            {
                string text = File.ReadAllText(Path.Combine(task, "schedstat"));
                total += long.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // a thread that ended since the listing: its time is in no task any more, which only undercounts
            }
        }

        return total;
    }

    private sealed record Case(string Name, int Guests, int BytesPerGuest, bool PtyReader);

    private sealed record Run(double Seconds, double CpuMs);
}
