using System.Text;
using Microsoft.Extensions.Logging;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Wire;
using Xen.TestSupport;
using static Xen.Store.Tests.Server.TestExtensions;

namespace Xen.Store.Tests.Server;

/// <summary>
/// The <c>memory</c> quota (<see cref="XenStoreQuotas.Memory"/>, <see cref="XenStoreQuotas.SoftMemory"/>): what a domain
/// is charged (each node it owns, its record and path; each watch, path and token), who is refused (the node's owner,
/// whoever writes), the quota's names in GET_QUOTA/SET_QUOTA and xenstore-control, the soft quota's log lines and the
/// per-domain gauge. The byte counts and the point of refusal are compared with C xenstored in the interop tests
/// (MemoryQuotaRefereeTests); these pin the rules down on the embedded server alone.
/// </summary>
public class MemoryQuotaTests
{
    private const string Home = "/local/domain/5";

    private static async Task<XenStoreClient> GuestAsync(ServerHarness h)
    {
        XenStoreClient dom0 = h.Client();
        await dom0.MkdirAsync(Home);
        await dom0.SetPermissionsAsync(Home, [new XsPermission(XsAccess.None, 5)]);
        return h.Client(5);
    }

    private static async Task<long> ChargedAsync(XenStoreClient dom0, uint domid)
    {
        string report = Encoding.ASCII.GetString(await dom0.ControlAsync("quota", [$"{domid}"])).TrimEnd('\0');
        return long.Parse(report.Split('\n').Single(l => l.StartsWith("memory", StringComparison.Ordinal)).Split(':')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_domain_is_charged_each_node_it_owns_record_and_path_and_each_watch_path_and_token()
    {
        await using var h = new ServerHarness();
        XenStoreClient dom0 = h.Client();
        XenStoreClient guest = await GuestAsync(h);
        long home = 24 + 8 + Home.Length; // header, one permission, no value, no children yet
        Assert.Equal(home, await ChargedAsync(dom0, 5));

        await guest.WriteAsync("a", "12345");
        long a = 24 + 8 + 5 + (Home + "/a").Length;
        Assert.Equal(home + 2 + a, await ChargedAsync(dom0, 5)); // the home's record gained "a\0"

        await guest.WriteAsync("a", "1"); // shorter: charged less
        Assert.Equal(home + 2 + a - 4, await ChargedAsync(dom0, 5));

        await using (XenStoreWatch w = await guest.WatchAsync("a", "tok"))
        {
            Assert.Equal(home + 2 + a - 4 + (Home + "/a").Length + 3, await ChargedAsync(dom0, 5));
        }

        await guest.SetPermissionsAsync("a", [new XsPermission(XsAccess.None, 5), new XsPermission(XsAccess.Read, 0)]);
        Assert.Equal(home + 2 + a - 4 + 8, await ChargedAsync(dom0, 5)); // one more permission

        await dom0.SetPermissionsAsync($"{Home}/a", [new XsPermission(XsAccess.None, 0)]); // given to dom0
        Assert.Equal(home + 2, await ChargedAsync(dom0, 5));

        await dom0.RemoveAsync($"{Home}/a");
        Assert.Equal(home, await ChargedAsync(dom0, 5));

        // Inside a transaction nothing is charged until it commits; then what it installed is.
        await using (XenStoreTransaction tx = await guest.StartTransactionAsync())
        {
            await tx.WriteAsync("t/u", "v");
            Assert.Equal(home, await ChargedAsync(dom0, 5));
            await tx.CommitAsync();
        }

        Assert.Equal(home + 2 + (24 + 8 + 2 + (Home + "/t").Length) + (24 + 8 + 1 + (Home + "/t/u").Length), await ChargedAsync(dom0, 5));
        Assert.Equal("OK\0"u8.ToArray(), await dom0.ControlAsync("check")); // the charges add up over the whole tree
    }

    [Fact]
    public async Task A_node_write_at_the_owners_quota_is_EIO_for_the_guest_and_for_dom0_and_a_watch_is_ENOMEM()
    {
        await using var h = new ServerHarness(new XenStoreServerOptions { Quotas = new XenStoreQuotas { Memory = 2000 } });
        XenStoreClient dom0 = h.Client();
        XenStoreClient guest = await GuestAsync(h);
        string value = new('v', 300);
        int written = 0;
        while (written < 20)
        {
            try
            {
                await guest.WriteAsync($"n{written}", value);
                written++;
            }
            catch (XenStoreErrorException e)
            {
                Assert.Equal(XsError.EIO, e.Error);
                break;
            }
        }

        Assert.Equal(5, written); // 5 x (24 + 8 + 300 + 18) + the home's 47 and children: 1807; the sixth would pass 2000
        long charged = await ChargedAsync(dom0, 5);
        Assert.InRange(charged, 2000 - 350, 1999);

        Assert.Equal(XsError.EIO, await ErrorOf(async () => await dom0.WriteAsync($"{Home}/n0", value + value))); // the owner's quota binds dom0
        Assert.Equal(XsError.EIO, await ErrorOf(async () => await dom0.WriteAsync($"{Home}/new", value))); // a node dom0 creates there is the guest's
        await dom0.WriteAsync("/dom0-owned", value + value); // dom0's own have no limit
        Assert.Equal(XsError.ENOMEM, await ErrorOf(async () => await guest.WatchAsync("n0", new string('t', 400))));
        await guest.WriteAsync("n0", "short"); // smaller fits
        await guest.WatchAsync("n0", "t");
        Assert.Equal(XsError.ENOSPC, await ErrorOf(async () => await guest.WriteAsync("n1", new byte[2100]))); // node-size first, as in C

        await dom0.SetQuotaAsync(5, "memory", 100_000); // Xen 4.22: a domain's own quota
        await guest.WriteAsync("n9", value);
        Assert.Equal("100000", await dom0.GetQuotaAsync(5, "memory"));
        Assert.Equal("2000", await dom0.GetQuotaAsync(null, "memory"));
    }

    [Fact]
    public async Task GET_QUOTA_lists_Xen_4_22s_names_soft_memory_included_and_SET_QUOTA_takes_them()
    {
        await using var h = new ServerHarness();
        XenStoreClient dom0 = h.Client();
        Assert.Equal(
            "nodes watches outstanding memory soft-memory transactions transaction-nodes node-permissions path-max node-size",
            await dom0.GetQuotaAsync(null, null));
        Assert.Equal("2621440", await dom0.GetQuotaAsync(null, "memory"));
        Assert.Equal("2097152", await dom0.GetQuotaAsync(null, "soft-memory"));
        Assert.Equal("5", await dom0.GetQuotaAsync(null, "node-permissions"));
        await dom0.SetQuotaAsync(null, "soft-memory", 1234);
        Assert.Equal("1234", await dom0.GetQuotaAsync(null, "soft-memory"));
        Assert.Equal(XsError.EINVAL, await ErrorOf(async () => await dom0.GetQuotaAsync(null, "soft-nodes")));

        // xenstore-control keeps C 4.17's names: memory among the hard quotas, the soft one under quota-soft.
        string hard = Encoding.ASCII.GetString(await dom0.ControlAsync("quota"));
        Assert.Contains("memory           :  2621440 Total Xenstore memory per domain (error level)\n", hard, StringComparison.Ordinal);
        Assert.Contains("permissions      :        5 Max. number of permissions per node\n", hard, StringComparison.Ordinal);
        Assert.Equal(
            "Quota settings:\nmemory           :     1234 Total Xenstore memory per domain (warning level)\n\0",
            Encoding.ASCII.GetString(await dom0.ControlAsync("quota-soft")));
        Assert.Equal("OK\0"u8.ToArray(), await dom0.ControlAsync("quota-soft", ["set", "memory", "4321"]));
        Assert.Equal("4321", await dom0.GetQuotaAsync(null, "soft-memory"));
        Assert.Equal(XsError.EINVAL, await ErrorOf(async () => await dom0.ControlAsync("quota-soft", ["set", "nodes", "5"])));
        Assert.Equal(XsError.EINVAL, await ErrorOf(async () => await dom0.ControlAsync("quota", ["set", "soft-memory", "5"])));
    }

    [Fact]
    public async Task Passing_the_soft_quota_is_logged_once_and_coming_back_under_it_once()
    {
        var log = new ListLogger();
        await using var h = new ServerHarness(new XenStoreServerOptions { Quotas = new XenStoreQuotas { SoftMemory = 1000 }, Logger = log });
        XenStoreClient dom0 = h.Client();
        XenStoreClient guest = await GuestAsync(h);
        for (int i = 0; i < 6; i++)
        {
            await guest.WriteAsync($"n{i}", new string('v', 300)); // refused by nothing: the soft quota only reports
        }

        var exceeded = Assert.Single(log.Entries, e => e.Event == "SoftMemoryExceeded");
        Assert.Equal(LogLevel.Warning, exceeded.Level);
        Assert.Equal(5u, exceeded.Values["DomainId"]);
        Assert.Equal(1000, exceeded.Values["Limit"]);
        Assert.DoesNotContain(log.Entries, e => e.Event == "SoftMemoryBelow");

        await dom0.RemoveAsync($"{Home}/n1");
        await dom0.RemoveAsync($"{Home}/n2");
        await dom0.RemoveAsync($"{Home}/n3");
        await dom0.RemoveAsync($"{Home}/n4");
        await guest.WriteAsync("n0", "short"); // the next charge looks again
        Assert.Single(log.Entries, e => e.Event == "SoftMemoryBelow");
        await guest.WriteAsync("n0", "shorter");
        Assert.Single(log.Entries, e => e.Event == "SoftMemoryExceeded");
    }

    [Fact]
    public async Task Each_domains_bytes_are_a_gauge()
    {
        using var metrics = new MetricsRecorder();
        await using var h = new ServerHarness(new XenStoreServerOptions { MeterFactory = metrics.Factory });
        XenStoreClient dom0 = h.Client();
        XenStoreClient guest = await GuestAsync(h);
        await guest.WriteAsync("a", "12345");
        Assert.Equal([(double)await ChargedAsync(dom0, 5)], metrics.Observe(XenStoreMetrics.ServerDomainMemory, (XenStoreMetrics.DomainTag, 5u)));
    }
}
