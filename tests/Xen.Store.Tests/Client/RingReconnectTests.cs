using Xen.Rings.Events;
using Xen.Rings.Memory;
using Xen.Rings.XenStore;
using Xen.Store.Client;
using Xen.Store.Tests.Server;
using Xen.Store.Transports;
using Xen.Store.Wire;

namespace Xen.Store.Tests.Client;

/// <summary>
/// A guest's client over its xenstore ring survives the server breaking the ring off (the <c>error</c> field): with
/// <see cref="XenStoreRingTransport.Reconnector"/> as its reconnect factory it runs the reconnection handshake on the
/// same page, registers its watches again (each stream told of the gap), and carries on; what the server dropped with
/// the old connection (a transaction) fails clearly.
/// </summary>
public sealed class RingReconnectTests
{
    [Fact]
    public async Task After_the_server_sets_the_error_field_the_client_reconnects_over_the_same_page_and_re_watches()
    {
        await using var h = new ServerHarness();
        XenStoreClient dom0 = h.Client();
        await dom0.MkdirAsync("/local/domain/7");
        await dom0.SetPermissionsAsync("/local/domain/7", [XsPermission.Parse("n7")]);
        using var page = SharedPage.Allocate();
        var (back, front) = InProcessEventChannel.CreatePair();
        using InProcessEventChannel guestChannel = front;
        h.Server.AttachDomainRing(7, page.Memory, back, ownsChannel: true);

        await using XenStoreClient guest = XenStoreClient.Create(
            new XenStoreRingTransport(page.Memory, guestChannel),
            new XenStoreClientOptions { Reconnect = XenStoreRingTransport.Reconnector(page.Memory, guestChannel), ReconnectDelay = TimeSpan.FromMilliseconds(1) });
        await guest.WriteAsync("data/before", "1");
        await using XenStoreWatch watch = await guest.WatchAsync("data", "d");
        Assert.Equal("data", (await watch.NextAsync()).Path); // a relative watch gets relative paths
        XenStoreTransaction stale = await guest.StartTransactionAsync();

        // Something breaks the guest's half of the ring: a header the server must refuse (over 4096 bytes).
        byte[] header = new byte[XsHeader.HeaderLength];
        new XsHeader(XsMessageType.Write, 99, 0, 100_000).Write(header);
        new XenStoreGuestRing(page.GetSpan()).Write(header);
        guestChannel.Notify();

        XenStoreWatchEvent gap = await watch.NextAsync();
        Assert.True(gap.EventsWereDropped, "the watch stream must say events may have been lost");
        Assert.Equal(XenStoreRingError.None, new XenStoreGuestRing(page.GetSpan()).Error);

        await guest.WriteAsync("data/after", "2");
        Assert.Equal("2", await dom0.ReadStringAsync("/local/domain/7/data/after"));
        XenStoreWatchEvent next;
        do
        {
            next = await watch.NextAsync(); // the re-registered watch's initial event, then the write
        }
        while (next.Path != "data/after");

        Assert.Equal("d", next.Token);
        await Assert.ThrowsAsync<XenStoreConnectionException>(() => stale.WriteAsync("data/tx", "x").AsTask());
        Assert.False(guest.IsFaulted);
    }

    [Fact]
    public async Task Against_a_server_without_reconnection_the_reconnector_fails_and_the_client_reports_the_loss()
    {
        using var page = SharedPage.Allocate();
        var (back, front) = InProcessEventChannel.CreatePair();
        using InProcessEventChannel guestChannel = front;
        using InProcessEventChannel server = back;
        new XenStoreServerRing(page.GetSpan()).ServerFeatures = 0; // e.g. C xenstored 4.17
        Func<CancellationToken, ValueTask<IXenStoreTransport>> reconnect = XenStoreRingTransport.Reconnector(page.Memory, guestChannel);
        await Assert.ThrowsAsync<InvalidOperationException>(() => reconnect(CancellationToken.None).AsTask());
        Assert.Throws<ArgumentException>(() => XenStoreRingTransport.Reconnector(new byte[100], guestChannel));
    }
}
