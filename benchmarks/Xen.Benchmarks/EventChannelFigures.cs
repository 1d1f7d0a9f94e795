using System.Diagnostics;
using System.Globalization;
using Xen.Benchmarks.Infrastructure;
using Xen.Rings.Host;
using Xen.TestSupport.Peers;

namespace Xen.Benchmarks;

/// <summary>
/// <c>evtchn-roundtrip</c>: the notify round trip of an interdomain event channel through our bindings
/// (<see cref="EventChannelPort.Notify"/>, then <see cref="EventChannelPort.WaitAsync"/>: the poller thread and the
/// signal every ring of the library waits on) against the same through libxenevtchn from C (<c>native/evtchn_bench.c</c>:
/// <c>xenevtchn_notify</c>, blocking <c>xenevtchn_pending</c>, <c>xenevtchn_unmask</c>), in one process, in alternating
/// rounds. The process plays domain 1 under the peers' LD_PRELOAD shim (this program re-launched with it); the far end
/// is <c>native/evtchn_echo.c</c> as domain 2, answering each notification with one back. A mode of this program rather
/// than a BenchmarkDotNet suite because the process must start under the shim.
/// Run: <c>dotnet run -c Release --project benchmarks/Xen.Benchmarks -- evtchn-roundtrip</c>.
/// </summary>
internal static class EventChannelFigures
{
    public const string Command = "evtchn-roundtrip";

    /// <summary>The mode of the re-launched process, under the shim, in the state directory given after it.</summary>
    public const string ShimmedCommand = "evtchn-roundtrip-shimmed";

    private const uint Self = 1;
    private const uint Peer = 2;
    private const int Rounds = 7;
    private const int PerRound = 20_000;
    private const int WarmUp = 2_000;

    /// <summary>Builds the shim in a fresh directory and runs <see cref="ShimmedCommand"/> under it.</summary>
    public static async Task<int> RunAsync()
    {
        PeerPrograms.Require(requirePeersScripts: true, "gcc");
        string directory = $"/tmp/evtchn-figures-{Environment.ProcessId}";
        Directory.CreateDirectory(directory);
        try
        {
            string shim = Path.Combine(directory, "xenstored_shim.so");
            await PeerCommand.RunCheckedAsync("gcc", ["-O2", "-Wall", "-shared", "-fPIC", "-o", shim, Path.Combine(PeerPrograms.PeersDirectory, "xenstored_shim.c"), "-ldl"]).ConfigureAwait(false);
            var start = new ProcessStartInfo(XenStoreDaemons.DotnetHost()) { UseShellExecute = false };
            start.ArgumentList.Add(XenStoreDaemons.FindAssembly("Xen.Benchmarks.dll"));
            start.ArgumentList.Add(ShimmedCommand);
            start.ArgumentList.Add(directory);
            start.Environment["LD_PRELOAD"] = shim;
            start.Environment["XENSHIM_DIR"] = directory;
            start.Environment["XENSHIM_DOMID"] = Self.ToString(CultureInfo.InvariantCulture);
            using Process measure = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
            await measure.WaitForExitAsync().ConfigureAwait(false);
            return measure.ExitCode;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Under the shim as domain 1: binds a port for each side, starts the echo as domain 2, measures.</summary>
    public static async Task<int> RunShimmedAsync(string directory)
    {
        using EventChannels channels = EventChannels.Open();
        using EventChannelPort ours = channels.BindUnboundPort(Peer);
        nint c = NativeBaseline.EvtchnOpen(Peer, out uint cPort);
        if (c == 0)
        {
            throw new InvalidOperationException("libxenevtchn could not open a handle and bind an unbound port (is the shim preloaded?).");
        }

        var start = new ProcessStartInfo(XenStoreDaemons.FindAssembly("evtchn_echo"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
        };
        start.ArgumentList.Add(Self.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(ours.LocalPort.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(cPort.ToString(CultureInfo.InvariantCulture));
        start.Environment["XENSHIM_DOMID"] = Peer.ToString(CultureInfo.InvariantCulture);
        using Process echo = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        try
        {
            if (await echo.StandardOutput.ReadLineAsync().ConfigureAwait(false) != "ready")
            {
                throw new InvalidOperationException("evtchn_echo did not bind its ports.");
            }

            // Only the binder's own port is set pending at bind (the echo takes its own): ours start with nothing pending,
            // so each wait below is for the echo's answer to the notify before it.
            await OursAsync(ours, WarmUp).ConfigureAwait(false);
            CRoundTrips(c, cPort, WarmUp);

            var oursTimes = new List<double>();
            var cTimes = new List<double>();
            for (int round = 0; round < Rounds; round++)
            {
                var clock = Stopwatch.StartNew();
                CRoundTrips(c, cPort, PerRound);
                cTimes.Add(clock.Elapsed.TotalMicroseconds / PerRound);
                clock.Restart();
                await OursAsync(ours, PerRound).ConfigureAwait(false);
                oursTimes.Add(clock.Elapsed.TotalMicroseconds / PerRound);
            }

            // Had ours taken a stray event it would run one answer ahead and time half a round trip: none may be left.
            using (var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
            {
                try
                {
                    await ours.WaitAsync(quiet.Token).ConfigureAwait(false);
                    throw new InvalidOperationException("An event beyond the echo's answers was pending on our port: the figures would be wrong.");
                }
                catch (OperationCanceledException)
                {
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Event channel notify round trip under the shim (domain {Self} <-> {Peer}), {Rounds} alternating rounds of {PerRound}, us per round trip"));
            Console.WriteLine();
            Console.WriteLine("| side | median | min | max | ratio (median, ours / C) |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| C, libxenevtchn (notify, pending, unmask) | {Statistics.Median(cTimes):F2} | {cTimes.Min():F2} | {cTimes.Max():F2} | 1.00 |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| ours, EventChannelPort (Notify, WaitAsync) | {Statistics.Median(oursTimes):F2} | {oursTimes.Min():F2} | {oursTimes.Max():F2} | {Statistics.Median(oursTimes) / Statistics.Median(cTimes):F2} |"));
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"per round (C / ours): {string.Join(", ", cTimes.Zip(oursTimes, (x, y) => $"{x:F1}/{y:F1}"))}"));
            return 0;
        }
        finally
        {
            echo.Kill();
            NativeBaseline.EvtchnClose(c);
        }
    }

    /// <summary><paramref name="count"/> round trips through libxenevtchn, in one call.</summary>
    private static void CRoundTrips(nint handle, uint port, long count)
    {
        long done = NativeBaseline.EvtchnRoundTrips(handle, port, count);
        if (done != count)
        {
            throw new InvalidOperationException($"libxenevtchn's round trips stopped after {done} of {count}.");
        }
    }

    private static async Task OursAsync(EventChannelPort port, int count)
    {
        for (int i = 0; i < count; i++)
        {
            port.Notify();
            await port.WaitAsync().ConfigureAwait(false);
        }
    }
}
