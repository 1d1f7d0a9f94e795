using System.Buffers.Binary;
using Xen.Rings.Events;
using Xen.Rings.Memory;
using Xen.Rings.XenStore;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Transports;
using Xen.Store.Wire;
using static Xen.Store.Tests.Server.TestExtensions;

namespace Xen.Store.Tests.Server;

public class ServerRobustnessTests
{
    [Theory]
    [InlineData(XsMessageType.Read, "/tool", "EINVAL")] // no NUL
    [InlineData(XsMessageType.Read, "", "EINVAL")]
    [InlineData(XsMessageType.Read, "/tool\0x\0", "EINVAL")] // two arguments
    [InlineData(XsMessageType.Read, "/a//b\0", "EINVAL")]
    [InlineData(XsMessageType.Read, "/a/\0", "EINVAL")]
    [InlineData(XsMessageType.Read, "/a b\0", "EINVAL")]
    [InlineData(XsMessageType.Read, "@introduceDomain\0", "EINVAL")]
    [InlineData(XsMessageType.Write, "/a", "EINVAL")]
    [InlineData(XsMessageType.SetPerms, "/tool\0", "EINVAL")]
    [InlineData(XsMessageType.SetPerms, "/tool\0x5\0", "EINVAL")]
    [InlineData(XsMessageType.GetPerms, "@releaseDomain\0", "EINVAL")]
    [InlineData(XsMessageType.TransactionEnd, "T\0", "ENOENT")] // tx 0
    [InlineData(XsMessageType.Introduce, "9\0" + "0\0", "EINVAL")]
    [InlineData(XsMessageType.Release, "77\0", "ENOENT")]
    [InlineData(XsMessageType.Resume, "77\0", "ENOENT")]
    [InlineData(XsMessageType.Invalid, "\0", "ENOSYS")]
    [InlineData((XsMessageType)99, "\0", "ENOSYS")]
    [InlineData(XsMessageType.DirectoryPart, "/tool\0", "EINVAL")] // one string: C wants the offset too (any text: atoi)
    public async Task Bad_requests_get_the_error_C_xenstored_gives(XsMessageType type, string payload, string error)
    {
        await using var h = new ServerHarness();
        var raw = h.Raw();
        Assert.Equal((XsMessageType.Error, error + "\0"), await raw.CallAsync(type, payload));
        Assert.Equal((XsMessageType.Read, ""), await raw.CallAsync(XsMessageType.Read, "/tool/xenstored\0")); // still served
    }

    [Theory]
    [InlineData(XsMessageType.Introduce)]
    [InlineData(XsMessageType.Release)]
    [InlineData(XsMessageType.Resume)]
    [InlineData(XsMessageType.IsDomainIntroduced)]
    [InlineData(XsMessageType.SetTarget)]
    [InlineData(XsMessageType.Control)]
    [InlineData(XsMessageType.SetFeature)]
    [InlineData(XsMessageType.GetQuota)]
    [InlineData(XsMessageType.SetQuota)]
    public async Task A_toolstack_request_from_a_guest_is_EACCES_before_its_arguments_are_read(XsMessageType type)
    {
        await using var h = new ServerHarness();
        var guest = h.Raw(domainId: 5);
        var dom0 = h.Raw();
        Assert.Equal((XsMessageType.Error, "EACCES\0"), await guest.CallAsync(type, "not\0arguments\0of\0any\0request\0"));
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await dom0.CallAsync(type, "not\0arguments\0of\0any\0request\0"));
    }

    [Fact]
    public async Task A_guests_toolstack_request_is_EACCES_and_an_unknown_type_ENOSYS_before_the_transaction_id_is_looked_up()
    {
        await using var h = new ServerHarness();
        var guest = h.Raw(domainId: 5);
        // C xenstored's process_message: the type, then the privilege, then transaction_lookup.
        Assert.Equal((XsMessageType.Error, "EACCES\0"), await guest.CallAsync(XsMessageType.Control, "print\0x\0", txId: 77));
        Assert.Equal((XsMessageType.Error, "ENOSYS\0"), await guest.CallAsync((XsMessageType)99, "\0", txId: 77));
        Assert.Equal((XsMessageType.Error, "ENOENT\0"), await guest.CallAsync(XsMessageType.Read, "/tool\0", txId: 77));
    }

    [Fact]
    public async Task Replies_echo_request_and_transaction_ids_and_unknown_transactions_are_ENOENT()
    {
        await using var h = new ServerHarness();
        var raw = h.Raw();
        await raw.SendAsync(XsMessageType.Read, "/tool\0", txId: 55, reqId: 0xdeadbeef);
        var m = (await raw.ReceiveAsync())!.Value;
        Assert.Equal(new XsHeader(XsMessageType.Error, 0xdeadbeef, 55, 7), m.Header);
        Assert.Equal((XsMessageType.TransactionStart, "1\0"), await raw.CallAsync(XsMessageType.TransactionStart, "\0"));
        Assert.Equal((XsMessageType.Error, "EBUSY\0"), await raw.CallAsync(XsMessageType.TransactionStart, "\0", txId: 1));
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await raw.CallAsync(XsMessageType.TransactionEnd, "X\0", txId: 1));
        Assert.Equal((XsMessageType.TransactionEnd, "OK\0"), await raw.CallAsync(XsMessageType.TransactionEnd, "T\0", txId: 1)); // still open after EINVAL
    }

    [Fact]
    public async Task An_oversized_payload_closes_only_that_connection_and_loses_no_accepted_write()
    {
        await using var h = new ServerHarness();
        var bystander = h.Client();
        await using var watch = await bystander.WatchAsync("/kept", "k");
        await watch.NextAsync();
        var raw = h.Raw();
        Assert.Equal((XsMessageType.Write, "OK\0"), await raw.CallAsync(XsMessageType.Write, "/kept\0before"));
        Assert.Equal("/kept", (await watch.NextAsync()).Path);
        byte[] header = new byte[XsHeader.HeaderLength];
        new XsHeader(XsMessageType.Write, 1, 0, XsHeader.PayloadMax + 1).Write(header);
        await raw.SendBytesAsync(header);
        Assert.Null(await raw.ReceiveAsync()); // the server closed it
        Assert.Equal("before", await bystander.ReadStringAsync("/kept"));
        await bystander.WriteAsync("/kept", "after");
        Assert.Equal("/kept", (await watch.NextAsync()).Path);
    }

    [Fact]
    public async Task Requests_split_at_every_byte_are_reassembled()
    {
        await using var h = new ServerHarness();
        await h.Raw().AssertRequestsSplitAtEveryByteAreAnsweredAsync();
    }

    [Fact]
    public async Task A_connection_that_stops_reading_is_dropped_and_the_others_carry_on()
    {
        await using var h = new ServerHarness(new XenStoreServerOptions { MaxQueuedMessages = 64 });
        var sleeper = h.Raw();
        string token = new('t', 2000); // 2 KB events: 2000 of them are far more than the 64 KiB pipe holds
        Assert.Equal(XsMessageType.Watch, (await sleeper.CallAsync(XsMessageType.Watch, $"/flood\0{token}\0")).Type);
        var writer = h.Client();
        string big = new('x', 3000);
        // The sleeper reads nothing more: its socket-like pipe fills, then its queue, then the server drops it.
        for (int i = 0; i < 2000; i++)
        {
            await writer.WriteAsync("/flood/n", big);
        }

        int events = 0;
        while (await sleeper.ReceiveAsync() is { } m)
        {
            Assert.Equal(XsMessageType.WatchEvent, m.Header.Type);
            events++;
        }

        Assert.True(events < 2001, $"the dropped connection received {events} events");
        Assert.Equal(big, await writer.ReadStringAsync("/flood/n"));
    }

    [Fact]
    public async Task Many_connections_counting_in_transactions_are_serialisable()
    {
        await using var h = new ServerHarness();
        const int Connections = 8;
        const int Increments = 25;
        var setup = h.Client();
        await setup.WriteAsync("/counter", "0");
        var policy = new TransactionRetryPolicy { MaxAttempts = 10_000, MaxDelay = TimeSpan.FromMilliseconds(2) };
        var workers = Enumerable.Range(0, Connections).Select(i => Task.Run(async () =>
        {
            var c = h.Client();
            for (int n = 0; n < Increments; n++)
            {
                await c.RunTransactionAsync(async (tx, ct) =>
                {
                    int v = int.Parse(await tx.ReadStringAsync("/counter", ct), System.Globalization.CultureInfo.InvariantCulture);
                    await tx.WriteAsync("/counter", (v + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), ct);
                    return v;
                }, policy);
            }
        }));
        await Task.WhenAll(workers);
        Assert.Equal((Connections * Increments).ToString(System.Globalization.CultureInfo.InvariantCulture), await setup.ReadStringAsync("/counter"));
    }

    // ---- ring connections ----------------------------------------------------------------------------------------

    private static (XenStoreClient Guest, SharedPage Page) AttachGuest(ServerHarness h, uint domid)
    {
        var page = SharedPage.Allocate();
        var (back, front) = InProcessEventChannel.CreatePair();
        h.Server.AttachDomainRing(domid, page.Memory, back, ownsChannel: true);
        return (XenStoreClient.Create(new XenStoreRingTransport(page.Memory, front, ownsChannel: true)), page);
    }

    [Fact]
    public async Task A_domain_over_its_ring_is_that_domain()
    {
        await using var h = new ServerHarness();
        var dom0 = h.Client();
        await dom0.MkdirAsync("/local/domain/5");
        await dom0.SetPermissionsAsync("/local/domain/5", [XsPermission.Parse("n5")]);
        await using var intro = await dom0.WatchAsync(XsPath.IntroduceDomain, "i");
        await intro.NextAsync();
        var (guest, page) = AttachGuest(h, 5);
        using (page)
        {
            await using (guest)
            {
                Assert.Equal(XsPath.IntroduceDomain, (await intro.NextAsync()).Path);
                Assert.True(await dom0.IsDomainIntroducedAsync(5));
                Assert.Equal(XenStoreServerFeatures.Reconnection | XenStoreServerFeatures.Error | XenStoreServerFeatures.WatchDepth, new XenStoreServerRing(page.GetSpan()).ServerFeatures);
                await guest.WriteAsync("data/x", "hello");
                Assert.Equal("hello", await dom0.ReadStringAsync("/local/domain/5/data/x"));
                Assert.Equal([XsPermission.Parse("n5")], await dom0.GetPermissionsAsync("/local/domain/5/data/x"));
                Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.ReadAsync("/tool/xenstored")));
                await using var w = await guest.WatchAsync("data", "d");
                Assert.Equal("data", (await w.NextAsync()).Path);
                for (int i = 0; i < 100; i++) // more than fits the 1 KiB rings at once
                {
                    await dom0.WriteAsync($"/local/domain/5/data/{i}", new string('v', 500));
                }

                for (int i = 0; i < 100; i++)
                {
                    Assert.Equal($"data/{i}", (await w.NextAsync()).Path);
                }

                Assert.Equal(101, (await guest.DirectoryAsync("data")).Count);
            }

            await h.Server.DisposeAsync(); // the page must outlive the domain's attachment
        }
    }

    [Fact]
    public async Task Garbage_in_a_ring_breaks_only_that_ring_until_the_guest_reconnects()
    {
        await using var h = new ServerHarness();
        var dom0 = h.Client();
        await dom0.WriteAsync("/ok", "still here");
        using var page = SharedPage.Allocate();
        var (back, front) = InProcessEventChannel.CreatePair();
        h.Server.AttachDomainRing(7, page.Memory, back, ownsChannel: true);

        byte[] header = new byte[XsHeader.HeaderLength];
        new XsHeader(XsMessageType.Write, 1, 0, 100_000).Write(header);
        new XenStoreGuestRing(page.GetSpan()).Write(header);
        front.Notify();
        while (new XenStoreGuestRing(page.GetSpan()).Error == XenStoreRingError.None)
        {
            await front.WaitAsync(ServerHarness.Guard);
        }

        Assert.Equal(XenStoreRingError.Protocol, new XenStoreGuestRing(page.GetSpan()).Error);
        Assert.Equal("still here", await dom0.ReadStringAsync("/ok"));

        var transport = new XenStoreRingTransport(page.Memory, front, ownsChannel: true);
        await transport.ReconnectAsync(ServerHarness.Guard);
        await using var guest = XenStoreClient.Create(transport);
        Assert.Equal("/local/domain/7", await guest.GetDomainPathAsync(7));
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.ReadAsync("/ok")));
    }

    [Fact]
    public async Task Requests_the_server_has_not_handled_stay_in_req_for_a_server_started_after_it()
    {
        // Replies of 1 KiB fill rsp[] at once (one whole, the start of the next), so the outstanding quota (20 replies
        // waiting) stops the server after 21 of 30 requests: the other 9 must still be in req[] (unconsumed), where a
        // server started after this one dies would read them.
        await using var h = new ServerHarness();
        XenStoreClient dom0 = h.Client();
        await dom0.WriteAsync("/big", new string('b', 1000));
        await dom0.SetPermissionsAsync("/big", [XsPermission.Parse("n4")]);
        using var page = SharedPage.Allocate();
        var (back, front) = InProcessEventChannel.CreatePair();
        h.Server.AttachDomainRing(4, page.Memory, back, ownsChannel: true);
        byte[] read = new byte[XsHeader.HeaderLength + 5];
        "/big\0"u8.CopyTo(read.AsSpan(XsHeader.HeaderLength));
        for (uint id = 1; id <= 30; id++)
        {
            new XsHeader(XsMessageType.Read, id, 0, 5).Write(read);
            Assert.Equal(read.Length, new XenStoreGuestRing(page.GetSpan()).Write(read));
        }

        front.Notify();
        while (new XenStoreGuestRing(page.GetSpan()).Responses.BytesFree > 0)
        {
            await front.WaitAsync(ServerHarness.Guard); // rsp[] fills: the server has handled what the quota allows
        }

        await Task.Delay(50); // a server that went on consuming would be seen below
        Assert.Equal(9 * read.Length, new XenStoreGuestRing(page.GetSpan()).Requests.BytesAvailable);
        front.Dispose();
    }

    [Fact]
    public async Task Corrupt_ring_indices_set_the_error_field()
    {
        await using var h = new ServerHarness();
        using var page = SharedPage.Allocate();
        var (back, front) = InProcessEventChannel.CreatePair();
        h.Server.AttachDomainRing(8, page.Memory, back, ownsChannel: true);
        BinaryPrimitives.WriteUInt32LittleEndian(page.GetSpan()[XenStoreRingLayout.ReqProdOffset..], 5000); // prod - cons > 1024
        front.Notify();
        while (new XenStoreGuestRing(page.GetSpan()).Error == XenStoreRingError.None)
        {
            await front.WaitAsync(ServerHarness.Guard);
        }

        Assert.Equal(XenStoreRingError.RingIndex, new XenStoreGuestRing(page.GetSpan()).Error);
        front.Dispose();
    }

    [Fact]
    public async Task Release_stops_serving_the_ring_and_fires_releaseDomain()
    {
        await using var h = new ServerHarness();
        var dom0 = h.Client();
        await using var rel = await dom0.WatchAsync(XsPath.ReleaseDomain, "r");
        await rel.NextAsync();
        var (guest, page) = AttachGuest(h, 9);
        using (page)
        {
            await using (guest)
            {
                Assert.Equal("/local/domain/9", await guest.GetDomainPathAsync(9));
                await dom0.ReleaseAsync(9);
                Assert.Equal(XsPath.ReleaseDomain, (await rel.NextAsync()).Path);
                Assert.False(await dom0.IsDomainIntroducedAsync(9));
            }
        }
    }
}
