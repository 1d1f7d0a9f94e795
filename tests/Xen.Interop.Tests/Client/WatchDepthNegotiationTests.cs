using Xen.Interop.Tests.EmbeddedServer;
using Xen.Store.Client;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Client;

/// <summary>
/// A watch with a depth asks the daemon for WATCHDEPTH first: C xenstored 4.17 would take the depth argument and
/// watch the whole subtree, so our client refuses with <see cref="NotSupportedException"/> there, and sends it to our
/// drop-in daemon, which offers the feature and honours the depth.
/// </summary>
[Trait("Category", "Interop")]
public class WatchDepthNegotiationTests
{
    [Fact]
    public async Task A_depth_is_refused_against_c_xenstored_4_17_and_honoured_by_ours()
    {
        await using (XenstoredPeer c = await XenstoredPeer.StartAsync(XenstoredKind.C))
        {
            await using XenStoreClient client = await XenStoreClient.ConnectAsync(c.SocketPath);
            var refused = await Assert.ThrowsAsync<NotSupportedException>(async () => await client.WatchAsync("/depth", "t", depth: 1));
            Assert.Contains("WATCHDEPTH", refused.Message, StringComparison.Ordinal);
            await using XenStoreWatch whole = await client.WatchAsync("/depth", "t"); // without a depth, as before
            Assert.Equal("/depth", (await whole.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30))).Path);
        }

        await using EmbeddedStore ours = await EmbeddedStore.StartAsync();
        await using XenStoreClient dom0 = await ours.ConnectDom0Async();
        await using XenStoreWatch shallow = await dom0.WatchAsync("/depth", "s", depth: 1);
        Assert.Equal("/depth", (await shallow.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30))).Path);
        await dom0.WriteAsync("/depth/a", "child");
        await dom0.WriteAsync("/depth/a/b", "grandchild");
        await dom0.WriteAsync("/depth/c", "child");
        Assert.Equal("/depth/a", (await shallow.ReadAsync()).Path);
        Assert.Equal("/depth/c", (await shallow.ReadAsync()).Path); // nothing for /depth/a/b, two levels down
    }
}
