using System.Text;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>
/// Xen's own console client, <c>xenconsole DOMID</c>, attached through the daemon's published <c>console/tty</c>, on
/// the real xenconsoled and on ours: it shows what the guest prints, and what is typed into it reaches the guest's
/// <c>in[]</c>.
/// </summary>
[Trait("Category", "Interop")]
public sealed class XenconsoleClientTests
{
    public static TheoryData<ConsoleDaemonKind> Daemons => new() { ConsoleDaemonKind.Xenconsoled, ConsoleDaemonKind.Ours };

    [Theory]
    [MemberData(nameof(Daemons))]
    public async Task Xenconsole_shows_the_guests_output_and_sends_its_keys_to_the_guest(ConsoleDaemonKind daemon)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync();
        await using XenconsoledPeer console = await XenconsoledPeer.StartAsync(store, daemon: daemon);
        using ConsoleGuest guest = ConsoleGuest.Attach(console);
        await using XenconsoleSession client = XenconsoleSession.Start(store, console.DomainId);

        await client.WaitUntilShownAsync("hello from domain 5", line => guest.WriteAllAsync(Encoding.ASCII.GetBytes(line)), () => console.Output);

        byte[] keys = "root\rls -l\r"u8.ToArray();
        await client.TypeAsync(keys);
        Assert.Equal(keys, await guest.ReadExactlyAsync(keys.Length));
    }
}
