using Xen.Rings.XenStore;

namespace Xen.Rings.Tests;

public class XenStoreRingTests
{
    [Fact]
    public void Requests_flow_guest_to_server_and_replies_server_to_guest()
    {
        byte[] page = new byte[XenStoreRingLayout.PageSize];
        Assert.Equal(4, new XenStoreGuestRing(page).Write("req1"u8));
        byte[] buf = new byte[8];
        Assert.Equal(4, new XenStoreServerRing(page).Read(buf));
        Assert.Equal("req1"u8.ToArray(), buf[..4]);
        Assert.Equal(3, new XenStoreServerRing(page).Write("rsp"u8));
        Assert.Equal(3, new XenStoreGuestRing(page).Read(buf));
        Assert.Equal("rsp"u8.ToArray(), buf[..3]);
        Assert.Equal((byte)'r', page[XenStoreRingLayout.ResponseOffset]);
        Assert.Equal(1024, new XenStoreGuestRing(page).Write(new byte[2000]));
    }

    [Fact]
    public void Reconnection_handshake_drops_the_rings_and_resets_indices()
    {
        byte[] page = new byte[XenStoreRingLayout.PageSize];
        var server = new XenStoreServerRing(page) { ServerFeatures = XenStoreServerFeatures.Reconnection | XenStoreServerFeatures.Error };
        new XenStoreGuestRing(page).Write("partial"u8);
        server.Error = XenStoreRingError.Communication;

        new XenStoreGuestRing(page).RequestReconnect();
        Assert.Equal(1u, BitConverter.ToUInt32(page, XenStoreRingLayout.ConnectionOffset));
        Assert.False(new XenStoreGuestRing(page).IsReconnectComplete);
        Assert.True(new XenStoreServerRing(page).IsReconnectRequested);

        new XenStoreServerRing(page).CompleteReconnect();
        var guest = new XenStoreGuestRing(page);
        Assert.True(guest.IsReconnectComplete);
        Assert.Equal(XenStoreRingError.None, guest.Error);
        Assert.Equal(0, guest.Requests.BytesAvailable);
        Assert.Equal(0u, guest.Requests.Producer);
        Assert.Equal(0u, guest.Responses.Consumer);
    }

    [Fact]
    public void Reconnect_is_refused_when_the_server_does_not_offer_it()
    {
        byte[] page = new byte[XenStoreRingLayout.PageSize];
        Assert.Throws<InvalidOperationException>(() => new XenStoreGuestRing(page).RequestReconnect());
        Assert.Equal(0u, BitConverter.ToUInt32(page, XenStoreRingLayout.ConnectionOffset));
    }

    [Fact]
    public void A_guest_that_corrupts_req_prod_makes_the_server_set_error_RINGIDX()
    {
        byte[] page = new byte[XenStoreRingLayout.PageSize];
        BitConverter.TryWriteBytes(page.AsSpan(XenStoreRingLayout.ReqProdOffset), 1025u);
        Assert.Throws<RingCorruptedException>(() => new XenStoreServerRing(page).Read(new byte[16]));
        Assert.Equal(XenStoreRingError.RingIndex, new XenStoreGuestRing(page).Error);
        Assert.Equal(2u, BitConverter.ToUInt32(page, XenStoreRingLayout.ErrorOffset));
    }

    [Fact]
    public void Features_and_event_channel_port_sit_where_xs_wire_h_puts_them()
    {
        byte[] page = new byte[XenStoreRingLayout.PageSize];
        _ = new XenStoreServerRing(page) { ServerFeatures = XenStoreServerFeatures.Reconnection | XenStoreServerFeatures.WatchDepth, EvtchnPort = 7 };
        Assert.Equal(5u, BitConverter.ToUInt32(page, 2064));
        Assert.Equal(7u, BitConverter.ToUInt32(page, 2076));
        Assert.Equal(7u, new XenStoreGuestRing(page).EvtchnPort);
    }
}
