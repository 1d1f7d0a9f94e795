using Xen.Rings.Events;
using Xen.Rings.Memory;
using Xen.Rings.Shim;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Server.Hosting;
using Xen.Store.Transports;
using Xen.Store.Wire;
using static Xen.Store.Tests.Server.TestExtensions;

namespace Xen.Store.Tests.Server;

/// <summary>
/// What the server does when a domain goes away, by RELEASE or by dying (C xenstored 4.17, checked against the real
/// daemon by the interop scenarios): the nodes the domain owns go with their subtrees, watchers hear of it as of an
/// RM, then <c>@releaseDomain</c> fires.
/// </summary>
public class DomainReleaseTests
{
    [Fact]
    public async Task Release_removes_every_node_the_domain_owns_with_its_subtree_and_fires_the_watches_before_releaseDomain()
    {
        await using var h = new ServerHarness();
        XenStoreClient dom0 = h.Client();
        await dom0.IntroduceAsync(6, 0, 8);
        await dom0.WriteAsync("/local/domain/6/data/x", "1");
        await dom0.SetPermissionsAsync("/local/domain/6", [XsPermission.Parse("n6")]);
        await dom0.SetPermissionsAsync("/local/domain/6/data", [XsPermission.Parse("n6")]);
        await dom0.SetPermissionsAsync("/local/domain/6/data/x", [XsPermission.Parse("n6")]);
        await dom0.WriteAsync("/other/by6/below", "dom0's node under domain 6's");
        await dom0.WriteAsync("/other/keep", "k");
        await dom0.WriteAsync("/other/keep/by6", "domain 6's node under dom0's");
        await dom0.SetPermissionsAsync("/other/by6", [XsPermission.Parse("n6"), XsPermission.Parse("r0")]);
        await dom0.SetPermissionsAsync("/other/keep/by6", [XsPermission.Parse("n6")]);
        await dom0.WriteAsync("/local/domain/7/data", "another domain's");
        await dom0.SetPermissionsAsync("/local/domain/7/data", [XsPermission.Parse("n7")]);

        // One connection, so the order of its events is the order they were fired in.
        RawConnection watcher = h.Raw();
        foreach (string path in new[] { "/other", "/local/domain/6/data/x", XsPath.ReleaseDomain })
        {
            Assert.Equal((XsMessageType.Watch, "OK\0"), await watcher.CallAsync(XsMessageType.Watch, $"{path}\0t\0"));
            Assert.Equal($"{path}\0t\0", await NextEventAsync(watcher));
        }

        await dom0.ReleaseAsync(6);

        Assert.Equal("/local/domain/6/data/x\0t\0", await NextEventAsync(watcher));
        Assert.Equal("/other/by6\0t\0", await NextEventAsync(watcher));
        Assert.Equal("/other/keep/by6\0t\0", await NextEventAsync(watcher));
        Assert.Equal(XsPath.ReleaseDomain + "\0t\0", await NextEventAsync(watcher));

        Assert.False(await dom0.ExistsAsync("/local/domain/6"));
        Assert.Equal(["7"], await dom0.DirectoryAsync("/local/domain"));
        Assert.Equal(["keep"], await dom0.DirectoryAsync("/other"));
        Assert.Empty(await dom0.DirectoryAsync("/other/keep"));
        Assert.Equal("another domain's", await dom0.ReadStringAsync("/local/domain/7/data"));
        Assert.True(h.Server.CheckConsistency());
    }

    [Fact]
    public async Task A_transaction_that_read_a_node_removed_with_a_released_domain_fails_with_EAGAIN()
    {
        await using var h = new ServerHarness();
        XenStoreClient dom0 = h.Client();
        await dom0.IntroduceAsync(6, 0, 8);
        await dom0.WriteAsync("/shared/by6", "v");
        await dom0.SetPermissionsAsync("/shared/by6", [XsPermission.Parse("n6")]);

        await using XenStoreTransaction tx = await dom0.StartTransactionAsync();
        Assert.Equal("v", await tx.ReadStringAsync("/shared/by6"));
        await tx.WriteAsync("/shared/seen", "by6 was there");
        await dom0.ReleaseAsync(6);

        Assert.Equal(XsError.EAGAIN, await ErrorOf(async () => await tx.CommitAsync()));
        Assert.False(await dom0.ExistsAsync("/shared/seen"));
    }

    [Fact]
    public async Task ReleaseDeadDomains_releases_only_the_introduced_domains_that_no_longer_exist()
    {
        await using var h = new ServerHarness();
        XenStoreClient dom0 = h.Client();
        await using XenStoreWatch released = await dom0.WatchAsync(XsPath.ReleaseDomain, "r");
        await released.NextAsync();
        using SharedPage page = SharedPage.Allocate();
        var (back, front) = InProcessEventChannel.CreatePair();
        h.Server.AttachDomainRing(9, page.Memory, back, ownsChannel: true);
        await using XenStoreClient guest = XenStoreClient.Create(new XenStoreRingTransport(page.Memory, front, ownsChannel: true));
        await dom0.IntroduceAsync(4, 0, 1);
        await dom0.MkdirAsync("/local/domain/9");
        await dom0.SetPermissionsAsync("/local/domain/9", [XsPermission.Parse("n9")]);
        await guest.WriteAsync("data", "alive");
        var asked = new List<uint>();

        IReadOnlyList<uint> gone = h.Server.ReleaseDeadDomains(domainId =>
        {
            asked.Add(domainId);
            return domainId != 9;
        });

        Assert.Equal([9u], gone);
        Assert.Equal([4u, 9u], asked); // dom0 is never asked about
        Assert.Equal(XsPath.ReleaseDomain, (await released.NextAsync()).Path);
        Assert.False(await dom0.IsDomainIntroducedAsync(9));
        Assert.True(await dom0.IsDomainIntroducedAsync(4));
        Assert.False(await dom0.ExistsAsync("/local/domain/9"));
        Assert.Equal([4u], h.Server.ReleaseDeadDomains(_ => false)); // 9 is released already
    }

    [Fact]
    public async Task With_a_peer_directory_a_domain_marked_dead_is_released_when_the_shim_raises_VIRQ_DOM_EXC()
    {
        string dir = Directory.CreateTempSubdirectory("xsd").FullName;
        try
        {
            await using var h = new ServerHarness(new XenStoreServerOptions { Host = new ShimXenStoreHost(dir) });
            XenStoreClient dom0 = h.Client();
            Assert.True(File.Exists(Path.Combine(dir, "virq-3")));
            await using XenStoreWatch released = await dom0.WatchAsync(XsPath.ReleaseDomain, "r");
            await released.NextAsync();

            using ShimGuestDomain domain5 = ShimEventChannels.BindGuest(dir, 5);
            using ShimGuestDomain domain6 = ShimEventChannels.BindGuest(dir, 6);
            await dom0.IntroduceAsync(5, 0, 7);
            await dom0.IntroduceAsync(6, 0, 7);
            using SharedPage page6 = SharedPage.MapFile(Path.Combine(dir, "xs-ring-6"));
            await using XenStoreClient guest6 = XenStoreClient.Create(new XenStoreRingTransport(page6.Memory, domain6.OpenChannel(7), ownsChannel: true));
            Assert.Equal("/local/domain/6", await guest6.GetDomainPathAsync(6));

            // A VIRQ with nobody dead changes nothing; then domain 6 dies.
            ShimEventChannels.RaiseVirq(dir, ShimEventChannels.VirqDomainException);
            await File.WriteAllBytesAsync(Path.Combine(dir, "dead-6"), []);
            ShimEventChannels.RaiseVirq(dir, ShimEventChannels.VirqDomainException);

            Assert.Equal(XsPath.ReleaseDomain, (await released.NextAsync()).Path);
            Assert.False(await dom0.IsDomainIntroducedAsync(6));
            Assert.True(await dom0.IsDomainIntroducedAsync(5));

            // With a domains/ folder, a domain exists only while its file does.
            Directory.CreateDirectory(Path.Combine(dir, "domains"));
            ShimEventChannels.RaiseVirq(dir, ShimEventChannels.VirqDomainException);
            Assert.Equal(XsPath.ReleaseDomain, (await released.NextAsync()).Path);
            Assert.False(await dom0.IsDomainIntroducedAsync(5));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Disposing_a_server_with_a_peer_directory_unbinds_its_virq()
    {
        string dir = Directory.CreateTempSubdirectory("xsd").FullName;
        try
        {
            var server = new XenStoreServer(new XenStoreServerOptions { Host = new ShimXenStoreHost(dir) });
            Assert.True(File.Exists(Path.Combine(dir, "virq-3")));
            await server.DisposeAsync();
            Assert.False(File.Exists(Path.Combine(dir, "virq-3")));
            Assert.Throws<ObjectDisposedException>(() => server.ReleaseDeadDomains(_ => false));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<string> NextEventAsync(RawConnection connection)
    {
        (XsHeader header, byte[] payload) = (await connection.ReceiveAsync())!.Value;
        Assert.Equal(XsMessageType.WatchEvent, header.Type);
        return System.Text.Encoding.Latin1.GetString(payload);
    }
}
