using System.Text;
using Xen.Interop.Tests.Console;
using Xen.Store.Client;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// The real xenconsoled (under the shim) with our embedded xenstored as its xenstore, and our
/// <c>ConsoleFrontend</c> as domain 5's console: xenconsoled finds the console through our store, publishes its
/// pty there, and both directions of the ring work.
/// </summary>
[Trait("Category", "Interop")]
public class EmbeddedXenconsoledTests
{
    [Fact]
    public async Task Xenconsoled_publishes_its_pty_in_our_store_and_serves_both_directions_of_the_guest_console()
    {
        await using var store = await EmbeddedStore.StartAsync();
        await using var console = await XenconsoledPeer.StartAsync(store.Peer);
        using var guest = ConsoleGuest.Attach(console);
        await using XenStoreClient dom0 = await store.ConnectDom0Async();

        // What xenconsoled published in our store: the pty it opened for the guest.
        string tty = await dom0.ReadStringAsync("/local/domain/5/console/tty");
        Assert.StartsWith("/dev/pts/", tty, StringComparison.Ordinal);
        Assert.Equal(console.TtyPath, tty);
        Assert.True(File.Exists(tty), $"{tty} does not exist");

        // Output: out[] -> xenconsoled's log.
        byte[] text = "hello from a guest whose xenstore is ours\n"u8.ToArray();
        await guest.WriteAllAsync(text);
        await guest.WaitUntilOutputConsumedAsync();
        byte[] log = await console.WaitForLogAsync(text.Length);
        Assert.Contains("hello from a guest whose xenstore is ours", Encoding.ASCII.GetString(log), StringComparison.Ordinal);

        // Input: pty -> in[].
        await using FileStream pty = await console.OpenTtyAsync();
        byte[] typed = "typed into the pty\r"u8.ToArray();
        await pty.WriteAsync(typed);
        Assert.Equal(typed, await guest.ReadExactlyAsync(typed.Length));
        Assert.False(console.HasExited, console.Output);
    }

    [Fact]
    public async Task After_the_toolstack_releases_a_dead_domain_in_our_store_xenconsoled_lets_go_of_its_console()
    {
        await using var store = await EmbeddedStore.StartAsync();
        await using XenStoreClient dom0 = await store.ConnectDom0Async();

        // The toolstack introduces the domain before xenconsoled starts, so the only domain-list events xenconsoled
        // sees before the release are the initial ones of its own watches.
        await dom0.IntroduceAsync(5, 0, 30);
        await using var console = await XenconsoledPeer.StartAsync(store.Peer);
        string portSocket = Path.Combine(store.StateDirectory, $"port-{console.DomainId}-{console.Port}");
        Assert.True(File.Exists(portSocket), $"{portSocket} is missing: {console.Output}");

        // The domain dies (for the shim: domains/5 goes) and the toolstack sends RELEASE, which fires @releaseDomain
        // in our store. No VIRQ is raised: the watch event is what tells xenconsoled to look again.
        File.Delete(Path.Combine(store.StateDirectory, "domains", console.DomainId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await dom0.ReleaseAsync(console.DomainId);

        await Deadline.PollAsync(
            () => !File.Exists(portSocket) || console.HasExited,
            () => $"xenconsoled still has the console channel {portSocket} bound: {console.Output}");
        Assert.False(console.HasExited, console.Output);
    }
}
