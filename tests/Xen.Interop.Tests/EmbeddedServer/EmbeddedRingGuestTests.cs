using System.Globalization;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Wire;
using Xen.TestSupport.Guests;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// Guests of our embedded xenstored over their xenstore rings after INTRODUCE (the shim convention: page file
/// <c>xs-ring-D</c>, kicks on <c>port-D-P</c>, notifications on <c>domD.evtchn</c>): a small C guest built from
/// Xen's <c>xs_wire.h</c> alone, and our own <see cref="XenStoreClient"/> over <c>XenStoreRingTransport</c>. Each
/// checks what a guest relies on: relative paths resolve under its home, dom0's private nodes answer EACCES, a
/// watch reports a change dom0 makes (relative to the home, as the watch was), and the node quota answers ENOSPC.
/// </summary>
[Trait("Category", "Interop")]
public class EmbeddedRingGuestTests
{
    private const int NodeQuota = 40;
    private const string PrivatePath = "/dom0-only/secret";

    [Fact]
    public async Task A_c_guest_built_from_xs_wire_h_gets_relative_paths_eacces_watch_events_and_enospc()
    {
        const uint DomainId = 7;
        const uint Port = 9;
        string guestProgram = await NativeGuest.XsGuestAsync();
        await using var store = await StartAsync(DomainId);
        await using XenStoreClient dom0 = await store.ConnectDom0Async();
        await File.WriteAllBytesAsync(Path.Combine(store.StateDirectory, $"xs-ring-{DomainId}"), new byte[4096]);
        await dom0.IntroduceAsync(DomainId, 0, Port);

        using PeerDaemon guest = PeerDaemon.Start(
            guestProgram,
            [store.StateDirectory, DomainId.ToString(CultureInfo.InvariantCulture), Port.ToString(CultureInfo.InvariantCulture), PrivatePath],
            new Dictionary<string, string>());
        await Deadline.PollAsync(
            () => guest.Output.Contains("watching\n", StringComparison.Ordinal) || guest.HasExited,
            () => $"the C guest did not get to its watch: {guest.Output}");
        await dom0.WriteAsync($"/local/domain/{DomainId}/data/w/changed", "by dom0");
        await Deadline.PollAsync(() => guest.HasExited, () => $"the C guest did not finish: {guest.Output}");

        string[] lines = guest.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines[^1] == $"[xs_guest exited with status 0]", guest.Output);
        Assert.Equal(
            [
                $"path /local/domain/{DomainId}",
                "read written-by-c",
                "private EACCES",
                "event data/w ctok",
                "watching",
                "event data/w/changed ctok",
            ],
            lines[..6]);
        Assert.Equal("written-by-c", await dom0.ReadStringAsync($"/local/domain/{DomainId}/data/c"));

        string[] quota = lines[6].Split(' ');
        Assert.True(quota is ["quota", _, "ENOSPC"], guest.Output);
        int written = int.Parse(quota[1], CultureInfo.InvariantCulture);
        Assert.InRange(written, 1, NodeQuota);
        Assert.True(await dom0.ExistsAsync($"/local/domain/{DomainId}/quota/n{written - 1}"));
        Assert.False(await dom0.ExistsAsync($"/local/domain/{DomainId}/quota/n{written}"));
        Assert.Equal("done", lines[7]);
    }

    [Fact]
    public async Task The_c_guest_gets_the_same_answers_from_our_server_as_from_c_xenstored_with_default_quotas()
    {
        const uint DomainId = 9;
        const uint Port = 12;
        string guestProgram = await NativeGuest.XsGuestAsync();
        string theirs;
        await using (XenstoredPeer daemon = await XenstoredPeer.StartAsync(XenstoredKind.C))
        await using (XenStoreClient dom0 = await XenStoreClient.ConnectAsync(daemon.SocketPath))
        {
            theirs = await RunCGuestAsync(guestProgram, dom0, daemon.StateDirectory, DomainId, Port);
        }

        Assert.True(theirs.Contains("\ndone\n", StringComparison.Ordinal), "the C guest never finished against C xenstored:\n" + theirs);

        string ours;
        await using (EmbeddedStore store = await EmbeddedStore.StartAsync())
        {
            await using XenStoreClient dom0 = await store.ConnectDom0Async();
            ours = await RunCGuestAsync(guestProgram, dom0, store.StateDirectory, DomainId, Port);
        }

        Assert.Equal(theirs, ours);
        Assert.Contains(" ENOSPC\n", ours, StringComparison.Ordinal);
    }

    private static async Task<string> RunCGuestAsync(string program, XenStoreClient dom0, string stateDirectory, uint domainId, uint port)
    {
        string home = $"/local/domain/{domainId}";
        await dom0.MkdirAsync(home);
        await dom0.SetPermissionsAsync(home, [XsPermission.Parse($"n{domainId}")]);
        await dom0.WriteAsync(PrivatePath, "dom0's");
        await dom0.SetPermissionsAsync(PrivatePath, [XsPermission.Parse("n0")]);
        await File.WriteAllBytesAsync(Path.Combine(stateDirectory, $"xs-ring-{domainId}"), new byte[4096]);
        await dom0.IntroduceAsync(domainId, 0, port);
        using PeerDaemon guest = PeerDaemon.Start(
            program,
            [stateDirectory, domainId.ToString(CultureInfo.InvariantCulture), port.ToString(CultureInfo.InvariantCulture), PrivatePath],
            new Dictionary<string, string>());
        await Deadline.PollAsync(
            () => guest.Output.Contains("watching\n", StringComparison.Ordinal) || guest.HasExited,
            () => $"the C guest did not get to its watch: {guest.Output}");
        await dom0.WriteAsync($"{home}/data/w/changed", "by dom0");
        await Deadline.PollAsync(() => guest.HasExited, () => $"the C guest did not finish: {guest.Output}");
        return guest.Output;
    }

    [Fact]
    public async Task Our_client_over_the_ring_gets_relative_paths_eacces_watch_events_and_enospc()
    {
        const uint DomainId = 8;
        const uint Port = 10;
        await using var store = await StartAsync(DomainId);
        await using XenStoreClient dom0 = await store.ConnectDom0Async();
        await using RingGuest ring = await RingGuest.IntroduceAsync(dom0, store.StateDirectory, DomainId, Port);
        XenStoreClient guest = ring.Client;

        await Deadline.RunAsync(
            async token =>
            {
                Assert.Equal($"/local/domain/{DomainId}", await guest.GetDomainPathAsync(DomainId, token));
                await guest.WriteAsync("data/x", "written-over-the-ring", token);
                Assert.Equal("written-over-the-ring", await guest.ReadStringAsync("data/x", token));
                Assert.Equal("written-over-the-ring", await dom0.ReadStringAsync($"/local/domain/{DomainId}/data/x", token));

                var denied = await Assert.ThrowsAsync<XenStoreErrorException>(async () => await guest.ReadAsync(PrivatePath, token));
                Assert.Equal(XsError.EACCES, denied.Error);

                await using XenStoreWatch watch = await guest.WatchAsync("data/w", "tok", cancellationToken: token);
                Assert.Equal(new XenStoreWatchEvent("data/w", "tok"), await watch.ReadAsync(token));
                await dom0.WriteAsync($"/local/domain/{DomainId}/data/w/changed", "by dom0", token);
                Assert.Equal(new XenStoreWatchEvent("data/w/changed", "tok"), await watch.ReadAsync(token));

                int written = 0;
                XenStoreErrorException? refused = null;
                while (refused is null && written <= 2 * NodeQuota)
                {
                    try
                    {
                        await guest.WriteAsync($"quota/n{written}", "x", token);
                        written++;
                    }
                    catch (XenStoreErrorException e)
                    {
                        refused = e;
                    }
                }

                Assert.NotNull(refused);
                Assert.Equal("ENOSPC", refused.RawError);
                Assert.InRange(written, 1, NodeQuota);
                Assert.False(await dom0.ExistsAsync($"/local/domain/{DomainId}/quota/n{written}", token));
            },
            () => "a request over the ring got no answer");
    }

    /// <summary>
    /// Our server with a small node quota, a home for the domain owned by it (as a toolstack makes one), and a node
    /// only dom0 may read.
    /// </summary>
    private static async Task<EmbeddedStore> StartAsync(uint domainId)
    {
        EmbeddedStore store = await EmbeddedStore.StartAsync(new XenStoreQuotas { Nodes = NodeQuota });
        try
        {
            await using XenStoreClient dom0 = await store.ConnectDom0Async();
            string home = $"/local/domain/{domainId}";
            await dom0.MkdirAsync(home);
            await dom0.SetPermissionsAsync(home, [XsPermission.Parse($"n{domainId}")]);
            await dom0.WriteAsync(PrivatePath, "dom0's");
            await dom0.SetPermissionsAsync(PrivatePath, [XsPermission.Parse("n0")]);
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }
}
