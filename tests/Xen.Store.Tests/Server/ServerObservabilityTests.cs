using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Xen.Rings.Events;
using Xen.Rings.Memory;
using Xen.Rings.XenStore;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Wire;
using Xen.TestSupport;
using Xen.TestSupport.Peers;
using static Xen.Store.Tests.Server.TestExtensions;

namespace Xen.Store.Tests.Server;

/// <summary>
/// The server's log (<see cref="XenStoreServerOptions.Logger"/>) and metrics (<see cref="XenStoreMetrics"/>): what an
/// operator sees when a guest is refused, a ring breaks, a connection is dropped, a domain comes and goes.
/// </summary>
public class ServerObservabilityTests
{
    private static async Task<XenStoreClient> GuestWithHomeAsync(ServerHarness h, uint domid)
    {
        XenStoreClient dom0 = h.Client();
        string home = XsPath.DomainPath(domid);
        await dom0.WriteAsync(home, "");
        await dom0.SetPermissionsAsync(home, [new XsPermission(XsAccess.None, (ushort)domid)]);
        return h.Client(domid);
    }

    [Fact]
    public async Task A_quota_refusal_names_the_domain_the_quota_and_the_request_once_per_interval_and_every_one_is_counted()
    {
        var log = new ListLogger();
        using var metrics = new MetricsRecorder();
        await using var h = new ServerHarness(new XenStoreServerOptions { Quotas = new XenStoreQuotas { Nodes = 3 }, Logger = log, MeterFactory = metrics.Factory });
        XenStoreClient guest = await GuestWithHomeAsync(h, 5);
        await guest.WriteAsync("a", "1"); // the home and a, b: three nodes owned by domain 5
        await guest.WriteAsync("b", "1");
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(XsError.ENOSPC, await ErrorOf(async () => await guest.WriteAsync($"c{i}", "1")));
        }

        var refused = log.Entries.Where(e => e.Event == "QuotaReached").ToList();
        var line = Assert.Single(refused); // the four after the first fall within the report interval
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal(5u, line.Values["DomainId"]);
        Assert.Equal("nodes", line.Values["Quota"]);
        Assert.Equal(3, line.Values["Limit"]);
        Assert.Equal("WRITE", line.Values["Request"]);
        Assert.Equal("Domain 5 refused: quota nodes (3) reached by WRITE", line.Message);
        Assert.Equal(5, metrics.Sum(XenStoreMetrics.ServerQuotaRefusals, (XenStoreMetrics.QuotaTag, "nodes"), (XenStoreMetrics.DomainTag, 5u)));
    }

    [Fact]
    public async Task Each_quota_of_a_guest_is_reported_under_its_own_name()
    {
        var log = new ListLogger();
        await using var h = new ServerHarness(new XenStoreServerOptions
        {
            Quotas = new XenStoreQuotas { Watches = 1, Transactions = 1, Permissions = 1, NodeSize = 100 },
            Logger = log,
        });
        XenStoreClient guest = await GuestWithHomeAsync(h, 6);
        await guest.WriteAsync("n", "1");
        Assert.Equal(XsError.ENOSPC, await ErrorOf(async () => await guest.WriteAsync("big", new string('x', 200))));
        Assert.Equal(XsError.ENOSPC, await ErrorOf(async () => await guest.SetPermissionsAsync("n", [new XsPermission(XsAccess.None, 6), new XsPermission(XsAccess.Read, 0)])));
        await using var w1 = await guest.WatchAsync("n", "t1");
        await using var w2 = await guest.WatchAsync("n", "t2"); // C's count: one more than the quota fits
        Assert.Equal(XsError.E2BIG, await ErrorOf(async () => await guest.WatchAsync("n", "t3")));

        Assert.Equal(
            ["node-size", "permissions", "watches"],
            log.Entries.Where(e => e.Event == "QuotaReached").Select(e => (string)e.Values["Quota"]!).Order(StringComparer.Ordinal));
        Assert.All(log.Entries.Where(e => e.Event == "QuotaReached"), e => Assert.Equal(6u, e.Values["DomainId"]));
    }

    [Fact]
    public async Task Requests_and_errors_are_counted_by_type_and_errno()
    {
        using var metrics = new MetricsRecorder();
        await using var h = new ServerHarness(new XenStoreServerOptions { MeterFactory = metrics.Factory });
        XenStoreClient c = h.Client();
        await c.WriteAsync("/m", "1");
        await c.ReadStringAsync("/m");
        await c.ReadStringAsync("/m");
        Assert.Equal(XsError.ENOENT, await ErrorOf(async () => await c.ReadStringAsync("/missing")));

        Assert.Equal(3, metrics.Sum(XenStoreMetrics.ServerRequests, (XenStoreMetrics.TypeTag, "READ")));
        Assert.Equal(1, metrics.Sum(XenStoreMetrics.ServerRequests, (XenStoreMetrics.TypeTag, "WRITE")));
        Assert.Equal(1, metrics.Sum(XenStoreMetrics.ServerErrors, (XenStoreMetrics.TypeTag, "READ"), (XenStoreMetrics.ErrorTag, "ENOENT")));
        Assert.Equal(1, metrics.Sum(XenStoreMetrics.ServerErrors));
    }

    [Fact]
    public async Task Watch_events_connections_queues_and_owned_nodes_are_measured()
    {
        using var metrics = new MetricsRecorder();
        await using var h = new ServerHarness(new XenStoreServerOptions { MeterFactory = metrics.Factory });
        XenStoreClient guest = await GuestWithHomeAsync(h, 7); // dom0 and domain 7: two in-process connections
        await guest.WriteAsync("x", "1");
        await guest.WriteAsync("y", "1");
        await using (XenStoreWatch w = await h.Client().WatchAsync("/local/domain/7", "tok"))
        {
            await w.ReadAsync(ServerHarness.Guard); // the initial event
            await guest.WriteAsync("z", "1");
            await w.ReadAsync(ServerHarness.Guard);
        }

        Assert.Equal(2, metrics.Sum(XenStoreMetrics.ServerWatchEvents));
        Assert.Equal(3, metrics.Sum(XenStoreMetrics.ServerConnections, (XenStoreMetrics.ConnectionKindTag, "in-process")));
        Assert.Equal([4.0], metrics.Observe(XenStoreMetrics.ServerDomainNodes, (XenStoreMetrics.DomainTag, 7u))); // the home, x, y, z
        Assert.Equal([0.0], metrics.Observe(XenStoreMetrics.ServerQueuedMessages, (XenStoreMetrics.ConnectionKindTag, "in-process")));
    }

    [Fact]
    public async Task A_connection_dropped_for_not_reading_is_a_warning_and_counted()
    {
        var log = new ListLogger();
        using var metrics = new MetricsRecorder();
        await using var h = new ServerHarness(new XenStoreServerOptions { MaxQueuedMessages = 64, Logger = log, MeterFactory = metrics.Factory });
        var sleeper = h.Raw();
        string token = new('t', 2000);
        Assert.Equal(XsMessageType.Watch, (await sleeper.CallAsync(XsMessageType.Watch, $"/flood\0{token}\0")).Type);
        var writer = h.Client();
        for (int i = 0; i < 2000; i++)
        {
            await writer.WriteAsync("/flood/n", new string('x', 3000));
        }

        while (await sleeper.ReceiveAsync() is not null)
        {
        }

        await Deadline.PollAsync(() => log.Entries.Any(e => e.Event == "ConnectionDropped"), () => "no ConnectionDropped entry");
        var dropped = Assert.Single(log.Entries, e => e.Event == "ConnectionDropped");
        Assert.Equal(LogLevel.Warning, dropped.Level);
        Assert.Equal("64 messages queued and not read", dropped.Values["Reason"]);
        Assert.Equal(1, metrics.Sum(XenStoreMetrics.ServerConnectionsDropped, (XenStoreMetrics.ConnectionKindTag, "in-process")));
        Assert.Contains(log.Entries, e => e.Event == "ConnectionOpened" && e.Level == LogLevel.Debug);
    }

    [Fact]
    public async Task A_ring_introduced_broken_and_released_is_logged_with_its_domain()
    {
        var log = new ListLogger();
        await using var h = new ServerHarness(new XenStoreServerOptions { Logger = log });
        using var page = SharedPage.Allocate();
        var (back, front) = InProcessEventChannel.CreatePair();
        h.Server.AttachDomainRing(8, page.Memory, back, ownsChannel: true);
        BinaryPrimitives.WriteUInt32LittleEndian(page.GetSpan()[XenStoreRingLayout.ReqProdOffset..], 5000); // prod - cons > 1024
        front.Notify();
        while (new XenStoreGuestRing(page.GetSpan()).Error == XenStoreRingError.None)
        {
            await front.WaitAsync(ServerHarness.Guard);
        }

        await h.Client().ReleaseAsync(8);
        front.Dispose();

        var introduced = Assert.Single(log.Entries, e => e.Event == "DomainIntroduced");
        Assert.Equal(LogLevel.Information, introduced.Level);
        Assert.Equal(8u, introduced.Values["DomainId"]);
        var broken = Assert.Single(log.Entries, e => e.Event == "RingBroken");
        Assert.Equal(LogLevel.Warning, broken.Level);
        Assert.Equal(8u, broken.Values["DomainId"]);
        Assert.Contains("req", (string)broken.Values["Reason"]!, StringComparison.Ordinal); // the corrupted ring's name
        var released = Assert.Single(log.Entries, e => e.Event == "DomainReleased");
        Assert.Equal("the domain was released", released.Values["Reason"]);
        await Deadline.PollAsync(
            () => log.Entries.Any(e => e.Event == "ConnectionClosed" && (uint)e.Values["DomainId"]! == 8),
            () => "the ring's connection was not logged as closed");
    }
}
