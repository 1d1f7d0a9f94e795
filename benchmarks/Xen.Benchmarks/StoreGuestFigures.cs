using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xen.Benchmarks.Infrastructure;
using Xen.Store;
using Xen.Store.Client;
using Xen.TestSupport.Guests;
using Xen.TestSupport.Peers;

namespace Xen.Benchmarks;

/// <summary>
/// What introduced guests cost each xenstore daemon (the <c>store-guests</c> mode): for 1, 100 and 1000 guests, each
/// daemon fresh under the shim (<c>run_xenstored.sh c</c>, and <c>ours</c> with this build's <c>dotnet xen.dll store
/// serve</c> and, with a path, the native <c>xen</c>), dom0 introduces the guests one after another as a toolstack does
/// (<see cref="RingGuest.IntroduceAsync"/>: home, permissions, a zeroed page, INTRODUCE) and each guest writes a node
/// and reads it back over its own ring (that time is the first figure); then all stay introduced and idle for a second
/// while the daemon's threads and resident set are read; then every guest reads its node once more, all at once (the
/// second figure: every ring is still served). oxenstored is left out: under the shim it cannot map a guest's page
/// (it dies on libxenctrl, see the peers' notes).
/// Run: <c>dotnet run -c Release --project benchmarks/Xen.Benchmarks -- store-guests [artifacts/native/xen]</c>.
/// </summary>
internal static class StoreGuestFigures
{
    public const string Command = "store-guests";

    private static readonly int[] Counts = [1, 100, 1000];
    private const uint GuestPort = 1; // each guest's own port of its xenstore channel (ports are per domain)

    public static async Task<int> RunAsync(string? nativeXen)
    {
        if (NativeBaseline.RaiseOpenFileLimit() is var limit and < 4 * 1000 + 100)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"(the open-file limit is {limit}: the larger rows will fail)"));
        }

        var daemons = new List<(string Name, string? Command)>
        {
            ("C xenstored", null),
            ("ours (dotnet xen.dll)", XenStoreDaemons.OursCommand),
        };
        if (nativeXen is not null)
        {
            daemons.Add(("ours, native xen", $"{Path.GetFullPath(nativeXen)} store serve"));
        }

        Console.WriteLine("Introduced guests, each over its own xenstore ring under the shim: introduce + one WRITE and READ of its own node, then idle; each daemon fresh per row");
        Console.WriteLine();
        Console.WriteLine("| daemon | guests | introduce+WRITE+READ | per guest | threads | VmRSS | growth per guest | every guest READs once more |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int count in Counts)
        {
            foreach ((string name, string? command) in daemons)
            {
                await RowAsync(name, command, count).ConfigureAwait(false);
            }
        }

        return 0;
    }

    private static async Task RowAsync(string name, string? oursCommand, int count)
    {
        string directory = $"/tmp/xsg-{Environment.ProcessId}";
        Directory.CreateDirectory(directory);
        var environment = new Dictionary<string, string>();
        if (oursCommand is not null)
        {
            environment["XENSTORED_OURS"] = oursCommand;
        }

        int pid = PeerDaemons.Start(oursCommand is null ? "c" : "ours", directory, environment);
        var guests = new List<RingGuest>(count);
        try
        {
            await using XenStoreClient dom0 = await XenStoreDaemons.ConnectAsync(Path.Combine(directory, "socket")).ConfigureAwait(false);
            await dom0.WriteAsync("/warm", "up").ConfigureAwait(false);
            await Task.Delay(300).ConfigureAwait(false);
            long before = ProcessStat.ResidentBytes(pid);
            var clock = Stopwatch.StartNew();
            for (uint domain = 1; domain <= count; domain++)
            {
                RingGuest guest = await RingGuest.IntroduceAsync(dom0, directory, domain, GuestPort).ConfigureAwait(false);
                guests.Add(guest);
                await guest.Client.WriteAsync(NodeOf(guest), Value(guest)).ConfigureAwait(false);
                await CheckAsync(guest).ConfigureAwait(false);
            }

            TimeSpan took = clock.Elapsed;
            await Task.Delay(1000).ConfigureAwait(false);
            long after = ProcessStat.ResidentBytes(pid);
            int threads = ProcessStat.Threads(pid);
            clock.Restart();
            await Task.WhenAll(guests.Select(CheckAsync)).ConfigureAwait(false);
            TimeSpan again = clock.Elapsed;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {count} | {took.TotalMilliseconds:F1} ms | {took.TotalMicroseconds / count:F0} us | {threads} | {StoreDaemonFigures.Mib(after)} MiB | {(after - before) / 1024.0 / count:F1} KiB | {again.TotalMilliseconds:F1} ms |"));
        }
        catch (Exception e) when (e is XenStoreException or IOException or TimeoutException or InvalidOperationException)
        {
            Console.WriteLine($"| {name} | {count} | failed after {guests.Count} guests: {e.Message} | | | | | |");
        }
        finally
        {
            foreach (RingGuest guest in guests)
            {
                await guest.DisposeAsync().ConfigureAwait(false);
            }

            PeerDaemons.Stop(pid);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string NodeOf(RingGuest guest) => $"{guest.Home}/data/g";

    private static byte[] Value(RingGuest guest) => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"guest {guest.DomainId}"));

    /// <summary>The guest reads its node back over its ring; anything else than what it wrote is a failure.</summary>
    private static async Task CheckAsync(RingGuest guest)
    {
        byte[] read = await guest.Client.ReadAsync(NodeOf(guest)).ConfigureAwait(false);
        if (!read.AsSpan().SequenceEqual(Value(guest)))
        {
            throw new InvalidOperationException($"Domain {guest.DomainId} read back {Encoding.ASCII.GetString(read)}.");
        }
    }
}
