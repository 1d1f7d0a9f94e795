using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Guests;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Scenarios;

/// <summary>
/// The scenarios that need an unprivileged connection: a guest over the shared ring. Only ring targets derive from
/// this class (both real daemons treat every Unix-socket connection as dom0), so these tests exist, with their
/// <c>Guest_</c> names, only under the ring targets' class names.
/// </summary>
public abstract class XenStoreGuestScenarios : XenStoreScenarios
{
    /// <summary>Creates the scenarios for a target whose connection under test is a ring guest.</summary>
    protected XenStoreGuestScenarios(ScenarioTarget target)
        : base(target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!target.ClientIsRingGuest)
        {
            throw new ArgumentException("The guest scenarios need a target whose connection under test is a ring guest.", nameof(target));
        }
    }

    private ushort GuestId => checked((ushort)Target.ClientDomainId);

    [Fact]
    public Task Guest_requests_on_a_dom0_node_without_permission_fail_with_EACCES() => Scenario(async () =>
    {
        await Dom0.WriteAsync("/private/secret", "dom0 only");
        await Dom0.SetPermissionsAsync("/private", [new XsPermission(XsAccess.None, 0)]);
        await Dom0.SetPermissionsAsync("/private/secret", [new XsPermission(XsAccess.None, 0)]);

        await AssertErrorAsync(XsError.EACCES, () => Client.ReadAsync("/private/secret").AsTask());
        await AssertErrorAsync(XsError.EACCES, () => Client.WriteAsync("/private/secret", "guest").AsTask());
        await AssertErrorAsync(XsError.EACCES, () => Client.DirectoryAsync("/private").AsTask());
        await AssertErrorAsync(XsError.EACCES, () => Client.GetPermissionsAsync("/private/secret").AsTask());
        await AssertErrorAsync(XsError.EACCES, () => Client.RemoveAsync("/private/secret").AsTask());
        await AssertErrorAsync(XsError.EACCES, () => Client.WriteAsync("/private/new", "guest").AsTask());

        Assert.Equal("dom0 only", await Dom0.ReadStringAsync("/private/secret"));
        Assert.Equal(["secret"], await Dom0.DirectoryAsync("/private"));
    });

    [Fact]
    public Task Guest_granted_read_may_read_but_not_write() => Scenario(async () =>
    {
        await Dom0.WriteAsync("/shared/config", "readable");
        await Dom0.SetPermissionsAsync("/shared/config", [new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, GuestId)]);

        Assert.Equal("readable", await Client.ReadStringAsync("/shared/config"));
        await AssertErrorAsync(XsError.EACCES, () => Client.WriteAsync("/shared/config", "guest").AsTask());
        Assert.Equal("readable", await Dom0.ReadStringAsync("/shared/config"));

        // Write access granted later lets it write.
        await Dom0.SetPermissionsAsync("/shared/config", [new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Both, GuestId)]);
        await Client.WriteAsync("/shared/config", "written by the guest");
        Assert.Equal("written by the guest", await Dom0.ReadStringAsync("/shared/config"));
    });

    [Fact]
    public Task Guest_may_set_permissions_on_its_own_node_but_not_on_dom0s() => Scenario(async () =>
    {
        await Client.WriteAsync(At("mine"), "x");
        XsPermission[] shared = [new(XsAccess.None, GuestId), new(XsAccess.Read, 0)];
        await Client.SetPermissionsAsync(At("mine"), shared);
        Assert.Equal(shared, await Dom0.GetPermissionsAsync(At("mine")));

        await Dom0.WriteAsync("/theirs", "y");
        await Dom0.SetPermissionsAsync("/theirs", [new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Both, GuestId)]);
        await AssertErrorAsync(XsError.EACCES, () => Client.SetPermissionsAsync("/theirs", [new XsPermission(XsAccess.Both, GuestId)]).AsTask());
        Assert.Equal(XsPermission.Parse("n0"), (await Dom0.GetPermissionsAsync("/theirs"))[0]);
    });

    [Fact]
    public Task Guest_privileged_requests_are_refused_with_EACCES() => Scenario(async () =>
    {
        await AssertErrorAsync(XsError.EACCES, () => Client.IntroduceAsync(12, 0, 3).AsTask());
        await AssertErrorAsync(XsError.EACCES, () => Client.ReleaseAsync(0).AsTask());
        await AssertErrorAsync(XsError.EACCES, () => Client.SetTargetAsync(12, GuestId).AsTask());
        Assert.False(await Dom0.IsDomainIntroducedAsync(12));
    });

    [Fact]
    public Task Guest_watch_is_not_told_of_changes_to_nodes_it_cannot_read() => Scenario(async () =>
    {
        await Dom0.MkdirAsync(At("hidden"));
        await Dom0.SetPermissionsAsync(At("hidden"), [new XsPermission(XsAccess.None, 0)]);
        await using XenStoreWatch watch = await Client.WatchAsync(Home);
        await ExpectEventAsync(watch, Home);

        await Dom0.WriteAsync(At("hidden/x"), "the guest may not read this");
        await Dom0.WriteAsync(At("visible"), "marker");
        await ExpectEventAsync(watch, At("visible"), mustNotSee: At("hidden/x"));
    });

    [Fact]
    public Task Guest_over_its_transaction_quota_gets_ENOSPC_from_C_xenstored_and_EQUOTA_from_oxenstored() => Scenario(async () =>
    {
        var open = new List<XenStoreTransaction>();
        try
        {
            XenStoreErrorException? refused = null;
            for (int i = 0; i < 64 && refused is null; i++)
            {
                try
                {
                    open.Add(await Client.StartTransactionAsync());
                }
                catch (XenStoreErrorException e)
                {
                    refused = e;
                }
            }

            Assert.NotNull(refused);
            switch (Target.Daemon)
            {
                case ScenarioDaemon.CXenstored:
                case ScenarioDaemon.Embedded:
                    Assert.Equal(XsError.ENOSPC, refused.Error);
                    break;
                case ScenarioDaemon.Oxenstored:
                    Assert.Equal(XsError.Unknown, refused.Error);
                    Assert.Equal("EQUOTA", refused.RawError);
                    break;
                default:
                    throw new InvalidOperationException($"No expectation for {Target.Daemon}.");
            }

            // Ending one makes room for another.
            await open[0].AbortAsync();
            open.RemoveAt(0);
            open.Add(await Client.StartTransactionAsync());
        }
        finally
        {
            foreach (XenStoreTransaction tx in open)
            {
                await tx.DisposeAsync();
            }
        }
    });

    [Fact]
    public Task Guest_transaction_starts_cancelled_while_the_daemon_is_busy_do_not_use_up_the_transaction_quota() => Scenario(async () =>
    {
        int quota = await TransactionQuotaAsync();

        await Target.PauseDaemonAsync();
        try
        {
            for (int i = 0; i < quota + 2; i++)
            {
                using var giveUp = new CancellationTokenSource();
                ValueTask<XenStoreTransaction> starting = Client.StartTransactionAsync(giveUp.Token);
                await giveUp.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => starting.AsTask());
            }
        }
        finally
        {
            await Target.ResumeDaemonAsync();
        }

        // The daemon starts the transactions when it resumes; the client ends each one as its reply arrives, so the
        // whole quota is soon free again.
        await Deadline.RunAsync(
            async token =>
            {
                while (await TransactionQuotaAsync() < quota)
                {
                    await Task.Delay(Deadline.PollInterval, token);
                }
            },
            () => $"transactions whose start was cancelled stayed open at the daemon. {Target.Describe()}");
    });

    [Fact]
    public Task Guest_IntroduceDomain_fires_when_dom0_introduces_a_guest_that_then_talks_over_its_ring() => Scenario(async () =>
    {
        await using XenStoreWatch watch = await Dom0.WatchAsync(XsPath.IntroduceDomain);
        await ExpectEventAsync(watch, XsPath.IntroduceDomain);

        RingGuest second = await Target.IntroduceRingGuestAsync(6, 8);
        await ExpectEventAsync(watch, XsPath.IntroduceDomain);
        Assert.True(await Dom0.IsDomainIntroducedAsync(6));

        Assert.Equal("/local/domain/6", await second.Client.GetDomainPathAsync(6));
        await second.Client.WriteAsync("data/hello", "from domain 6");
        Assert.Equal("from domain 6", await Dom0.ReadStringAsync("/local/domain/6/data/hello"));

        // Each guest's home is private to it.
        await Client.WriteAsync(At("data"), "domain 5's");
        await AssertErrorAsync(XsError.EACCES, () => second.Client.ReadAsync(At("data")).AsTask());
        await AssertErrorAsync(XsError.EACCES, () => Client.ReadAsync("/local/domain/6/data/hello").AsTask());
    });

    [Fact]
    public Task Guest_ReleaseDomain_fires_when_a_guest_domain_dies() => Scenario(async () =>
    {
        await using XenStoreWatch watch = await Dom0.WatchAsync(XsPath.ReleaseDomain);
        await ExpectEventAsync(watch, XsPath.ReleaseDomain);
        RingGuest doomed = await Target.IntroduceRingGuestAsync(6, 8);
        await doomed.Client.WriteAsync("data/alive", "1");

        await Target.KillDomainAsync(6);
        await ExpectEventAsync(watch, XsPath.ReleaseDomain);
        Assert.False(await Dom0.IsDomainIntroducedAsync(6));
    });

    [Fact]
    public Task Guest_nodes_of_a_released_domain_are_removed_and_C_xenstored_tells_the_watchers() =>
        Scenario(() => NodesOfAGoneDomainAsync(domainId => Dom0.ReleaseAsync(domainId).AsTask()));

    [Fact]
    public Task Guest_nodes_of_a_dead_domain_are_removed_and_C_xenstored_tells_the_watchers() =>
        Scenario(() => NodesOfAGoneDomainAsync(Target.KillDomainAsync));

    /// <summary>
    /// A domain that goes away (released or dead) takes every node it owns with it, subtrees included, wherever they
    /// are. C xenstored removes them as an RM would, so dom0's watches fire (the removed node's path for a watch
    /// above it, the watch's own path for one below it) before <c>@releaseDomain</c>; oxenstored removes them
    /// without watch events.
    /// </summary>
    private async Task NodesOfAGoneDomainAsync(Func<uint, Task> makeGone)
    {
        RingGuest doomed = await Target.IntroduceRingGuestAsync(6, 8);
        await doomed.Client.WriteAsync("data/x", "the guest's");
        await Dom0.WriteAsync("/local/domain/6/by-dom0", "inherits the home's owner");
        await Dom0.WriteAsync("/released/by6/below", "dom0's, under domain 6's node");
        await Dom0.WriteAsync("/released/keep", "dom0's");
        await Dom0.SetPermissionsAsync("/released/by6", [new XsPermission(XsAccess.None, 6), new XsPermission(XsAccess.Read, 0)]);

        await using XenStoreWatch above = await Dom0.WatchAsync("/released");
        await ExpectEventAsync(above, "/released");
        await using XenStoreWatch below = await Dom0.WatchAsync("/local/domain/6/data/x");
        await ExpectEventAsync(below, "/local/domain/6/data/x");
        await using XenStoreWatch released = await Dom0.WatchAsync(XsPath.ReleaseDomain);
        await ExpectEventAsync(released, XsPath.ReleaseDomain);

        await makeGone(6);
        await ExpectEventAsync(released, XsPath.ReleaseDomain);
        Assert.False(await Dom0.IsDomainIntroducedAsync(6));
        switch (Target.Daemon)
        {
            case ScenarioDaemon.CXenstored:
            case ScenarioDaemon.Embedded:
                // Fired before @releaseDomain, so already delivered.
                await ExpectEventAsync(above, "/released/by6");
                await ExpectEventAsync(below, "/local/domain/6/data/x");
                break;
            case ScenarioDaemon.Oxenstored:
                // No event came: the next one is for a change made now.
                await Dom0.WriteAsync("/released/marker", "after");
                await ExpectEventAsync(above, "/released/marker", mustNotSee: "/released/by6");
                await Dom0.RemoveAsync("/released/marker");
                break;
            default:
                throw new InvalidOperationException($"No expectation for {Target.Daemon}.");
        }

        Assert.False(await Dom0.ExistsAsync("/local/domain/6"));
        Assert.Equal(["keep"], await Dom0.DirectoryAsync("/released"));
        Assert.Equal("dom0's", await Dom0.ReadStringAsync("/released/keep"));
        await Client.WriteAsync(At("still"), "the other guest carries on");
        Assert.Equal("the other guest carries on", await Dom0.ReadStringAsync(At("still")));
    }

    /// <summary>How many transactions the guest can open at once (they are aborted again).</summary>
    private async Task<int> TransactionQuotaAsync()
    {
        var open = new List<XenStoreTransaction>();
        try
        {
            while (open.Count < 64)
            {
                open.Add(await Client.StartTransactionAsync());
            }

            throw new InvalidOperationException("The guest opened 64 transactions: no transaction quota.");
        }
        catch (XenStoreErrorException e) when (e.Error == XsError.ENOSPC || e.RawError == "EQUOTA")
        {
            return open.Count;
        }
        finally
        {
            foreach (XenStoreTransaction tx in open)
            {
                await tx.AbortAsync();
            }
        }
    }

    private static async Task AssertErrorAsync(XsError expected, Func<Task> request)
    {
        var e = await Assert.ThrowsAsync<XenStoreErrorException>(request);
        Assert.Equal(expected, e.Error);
    }
}
