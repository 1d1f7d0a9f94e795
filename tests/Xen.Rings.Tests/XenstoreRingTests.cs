using Xen.Rings.Xenstore;

namespace Xen.Rings.Tests;

public class XenstoreRingTests
{
    [Fact]
    public void Requests_flow_guest_to_server_and_replies_server_to_guest()
    {
        byte[] page = new byte[XenstoreRingLayout.PageSize];
        Assert.Equal(4, new XenstoreGuestRing(page).Write("req1"u8));
        byte[] buf = new byte[8];
        Assert.Equal(4, new XenstoreServerRing(page).Read(buf));
        Assert.Equal("req1"u8.ToArray(), buf[..4]);
        Assert.Equal(3, new XenstoreServerRing(page).Write("rsp"u8));
        Assert.Equal(3, new XenstoreGuestRing(page).Read(buf));
        Assert.Equal("rsp"u8.ToArray(), buf[..3]);
        Assert.Equal((byte)'r', page[XenstoreRingLayout.ResponseOffset]);
        Assert.Equal(1024, new XenstoreGuestRing(page).Write(new byte[2000]));
    }

    [Fact]
    public void Reconnection_handshake_drops_the_rings_and_resets_indices()
    {
        byte[] page = new byte[XenstoreRingLayout.PageSize];
        var server = new XenstoreServerRing(page) { ServerFeatures = XenstoreServerFeatures.Reconnection | XenstoreServerFeatures.Error };
        new XenstoreGuestRing(page).Write("partial"u8);
        server.Error = XenstoreRingError.Communication;

        new XenstoreGuestRing(page).RequestReconnect();
        Assert.Equal(1u, BitConverter.ToUInt32(page, XenstoreRingLayout.ConnectionOffset));
        Assert.False(new XenstoreGuestRing(page).IsReconnectComplete);
        Assert.True(new XenstoreServerRing(page).IsReconnectRequested);

        new XenstoreServerRing(page).CompleteReconnect();
        var guest = new XenstoreGuestRing(page);
        Assert.True(guest.IsReconnectComplete);
        Assert.Equal(XenstoreRingError.None, guest.Error);
        Assert.Equal(0, guest.Requests.BytesAvailable);
        Assert.Equal(0u, guest.Requests.Producer);
        Assert.Equal(0u, guest.Responses.Consumer);
    }

    [Fact]
    public void Reconnect_is_refused_when_the_server_does_not_offer_it()
    {
        byte[] page = new byte[XenstoreRingLayout.PageSize];
        Assert.Throws<InvalidOperationException>(() => new XenstoreGuestRing(page).RequestReconnect());
        Assert.Equal(0u, BitConverter.ToUInt32(page, XenstoreRingLayout.ConnectionOffset));
    }

    [Fact]
    public void A_guest_that_corrupts_req_prod_makes_the_server_set_error_RINGIDX()
    {
        byte[] page = new byte[XenstoreRingLayout.PageSize];
        BitConverter.TryWriteBytes(page.AsSpan(XenstoreRingLayout.ReqProdOffset), 1025u);
        Assert.Throws<RingCorruptedException>(() => new XenstoreServerRing(page).Read(new byte[16]));
        Assert.Equal(XenstoreRingError.RingIndex, new XenstoreGuestRing(page).Error);
        Assert.Equal(2u, BitConverter.ToUInt32(page, XenstoreRingLayout.ErrorOffset));
    }

    [Fact]
    public void Features_and_event_channel_port_sit_where_xs_wire_h_puts_them()
    {
        byte[] page = new byte[XenstoreRingLayout.PageSize];
        _ = new XenstoreServerRing(page) { ServerFeatures = XenstoreServerFeatures.Reconnection | XenstoreServerFeatures.WatchDepth, EvtchnPort = 7 };
        Assert.Equal(5u, BitConverter.ToUInt32(page, 2064));
        Assert.Equal(7u, BitConverter.ToUInt32(page, 2076));
        Assert.Equal(7u, new XenstoreGuestRing(page).EvtchnPort);
    }
}
