using Xen.Rings.Shim;
using Xen.Store.Client;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>
/// Domains coming and going under a running console daemon, the real xenconsoled and ours: a domain introduced to
/// xenstored later (<c>@introduceDomain</c>) gets its console served; a domain that dies (<c>@releaseDomain</c>) has its
/// channel unbound and its terminal closed, and the others keep being served.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ConsoleDomainLifecycleTests
{
    public static TheoryData<ConsoleDaemonKind> Daemons => new() { ConsoleDaemonKind.Xenconsoled, ConsoleDaemonKind.Ours };

    [Theory]
    [MemberData(nameof(Daemons))]
    public async Task A_domain_introduced_later_is_served_and_one_that_dies_is_let_go(ConsoleDaemonKind daemon)
    {
        ConsoleGuestOptions first = new() { DomainId = 5, Name = "guest5" };
        ConsoleGuestOptions later = new() { DomainId = 6, Name = "guest6", Port = 9 };
        await using XenstoredPeer store = await XenstoredPeer.StartAsync();
        await using XenconsoledPeer console = await XenconsoledPeer.StartAsync(store, first, daemon);
        await using XenStoreClient dom0 = await XenStoreClient.ConnectAsync(store.SocketPath);

        // The toolstack builds domain 6, then introduces it to xenstored (its xenstore page is the shim's xs-ring-6).
        await XenconsoledPeer.CreateGuestAsync(store, later);
        await File.WriteAllBytesAsync(Path.Combine(store.StateDirectory, "xs-ring-6"), new byte[4096]);
        await dom0.IntroduceAsync(later.DomainId, 0, 30);

        string laterPort = Path.Combine(store.StateDirectory, $"port-{later.DomainId}-{later.Port}");
        await Deadline.PollAsync(() => File.Exists(laterPort) && File.Exists(console.LogPathOf(later)),
            () => $"{daemon} did not take up domain 6 after @introduceDomain; {console.Output}");
        string? tty = await dom0.TryReadStringAsync("/local/domain/6/console/tty");
        Assert.NotNull(tty);
        Assert.StartsWith("/dev/pts/", tty, StringComparison.Ordinal);
        using (ConsoleGuest guest6 = ConsoleGuest.Attach(console, later))
        {
            await guest6.WriteAllAsync("domain 6 is up\n"u8.ToArray());
            await Deadline.PollAsync(() => console.ReadLog(later).Length == 15, () => $"domain 6's output did not reach its log; {console.Output}");
        }

        // Domain 6 dies: the shim forgets it, and VIRQ_DOM_EXC makes xenstored release it (@releaseDomain).
        File.Delete(Path.Combine(store.StateDirectory, "domains", "6"));
        ShimEventChannels.RaiseVirq(store.StateDirectory, ShimEventChannels.VirqDomainException);
        await Deadline.PollAsync(() => !File.Exists(laterPort), () => $"{daemon} did not unbind dead domain 6's console channel; {console.Output}");
        await Deadline.PollAsync(() => !File.Exists(tty), () => $"{daemon} did not close dead domain 6's terminal {tty}; {console.Output}");

        using ConsoleGuest guest5 = ConsoleGuest.Attach(console, first);
        await guest5.WriteAllAsync("domain 5 still served\n"u8.ToArray());
        await Deadline.PollAsync(() => console.ReadLog(first).Length == 22, () => $"domain 5's output did not reach its log; {console.Output}");
        Assert.False(console.HasExited, console.Output);
    }
}
