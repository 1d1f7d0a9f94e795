using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Guests;
using Xen.TestSupport.Peers;
using Xunit.Abstractions;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// C xenstored as referee of what an unprivileged guest sees from our embedded server: the same script, run by our
/// client over the guest's xenstore ring against each, must give the same answers: permission checks on dom0's
/// nodes, who may change a node's owner, the permission, transaction and watch quotas, and which watch events a
/// guest is sent for nodes it may not read.
/// </summary>
[Trait("Category", "Interop")]
public class GuestRefereeTests(ITestOutputHelper output)
{
    private const uint DomainId = 4;
    private const uint Port = 3;

    /// <summary>
    /// What C xenstored 4.17 answers. Of note: a guest gets the initial event of a watch on a node it may not read,
    /// but no event for a later change there; nodes dom0 creates under a guest's node inherit its permissions.
    /// </summary>
    private static readonly string[] Expected =
    [
        "read /ref/ro: readable",
        "write /ref/ro: EACCES",
        "write /ref/ro/child: EACCES",
        "rm /ref/ro: EACCES",
        "directory /ref: EACCES",
        "get_perms /ref/private: EACCES",
        "introduce 9: EACCES",
        "write x: OK",
        "get_perms x: n4",
        "set_perms x n5: EPERM",
        "set_perms x with 6 entries: ENOSPC",
        "set_perms x with 5 entries: OK",
        "get_perms x: n4,r1,r2,r3,r5",
        "dom0: write x/by-dom0: OK",
        "get_perms x/by-dom0: n4,r1,r2,r3,r5",
        "initial event of /ref: /ref",
        "next event after a private then a visible change: /ref/visible",
        "first event after watching /ref/private then /ref/visible: /ref/private priv",
        "transactions opened: 11 then ENOSPC",
        "watches set: 129 then E2BIG",
    ];

    [Fact]
    public async Task A_guest_gets_the_same_answers_from_our_server_as_from_c_xenstored()
    {
        List<string> theirs;
        await using (XenstoredPeer daemon = await XenstoredPeer.StartAsync(XenstoredKind.C))
        {
            await using XenStoreClient dom0 = await XenStoreClient.ConnectAsync(daemon.SocketPath);
            theirs = await Deadline.RunAsync(
                token => RunScriptAsync(dom0, daemon.StateDirectory).WaitAsync(token),
                () => $"C xenstored did not answer the script; its output: {daemon.DaemonOutput}");
        }

        List<string> ours;
        await using (EmbeddedStore store = await EmbeddedStore.StartAsync())
        {
            await using XenStoreClient dom0 = await store.ConnectDom0Async();
            ours = await Deadline.RunAsync(
                token => RunScriptAsync(dom0, store.StateDirectory).WaitAsync(token),
                () => "our server did not answer the script");
        }

        output.WriteLine(string.Join('\n', theirs));
        Assert.Equal(theirs, ours);
        Assert.Equal(Expected, ours);
    }

    private static async Task<List<string>> RunScriptAsync(XenStoreClient dom0, string stateDirectory)
    {
        var log = new List<string>();
        static XsPermission P(string text) => XsPermission.Parse(text);
        string home = $"/local/domain/{DomainId}";
        await dom0.MkdirAsync(home);
        await dom0.SetPermissionsAsync(home, [P($"n{DomainId}")]);
        await dom0.WriteAsync("/ref/ro", "readable");
        await dom0.SetPermissionsAsync("/ref/ro", [P("n0"), P($"r{DomainId}")]);
        await dom0.WriteAsync("/ref/private", "dom0's");
        await dom0.SetPermissionsAsync("/ref/private", [P("n0")]);
        await dom0.WriteAsync("/ref/visible", "v");
        await dom0.SetPermissionsAsync("/ref/visible", [P("n0"), P($"r{DomainId}")]);

        await using RingGuest ring = await RingGuest.IntroduceAsync(dom0, stateDirectory, DomainId, Port);
        XenStoreClient guest = ring.Client;
        Task Step(string name, Func<Task<string>> operation) => RefereeScript.StepAsync(log, name, operation);
        static Task<string> Ok(Func<Task> operation) => RefereeScript.OkAsync(operation);

        // dom0's nodes.
        await Step("read /ref/ro", async () => await guest.ReadStringAsync("/ref/ro"));
        await Step("write /ref/ro", () => Ok(async () => await guest.WriteAsync("/ref/ro", "guest's")));
        await Step("write /ref/ro/child", () => Ok(async () => await guest.WriteAsync("/ref/ro/child", "guest's")));
        await Step("rm /ref/ro", () => Ok(async () => await guest.RemoveAsync("/ref/ro")));
        await Step("directory /ref", async () => string.Join(',', await guest.DirectoryAsync("/ref")));
        await Step("get_perms /ref/private", async () => string.Join(',', await guest.GetPermissionsAsync("/ref/private")));
        await Step("introduce 9", () => Ok(async () => await guest.IntroduceAsync(9, 0, 1)));

        // Its own nodes: who owns them, who may change the owner, how many permissions fit.
        await Step("write x", () => Ok(async () => await guest.WriteAsync("x", "1")));
        await Step("get_perms x", async () => string.Join(',', await guest.GetPermissionsAsync("x")));
        await Step("set_perms x n5", () => Ok(async () => await guest.SetPermissionsAsync("x", [P("n5")])));
        await Step("set_perms x with 6 entries", () => Ok(async () => await guest.SetPermissionsAsync("x", [P($"n{DomainId}"), P("r1"), P("r2"), P("r3"), P("r5"), P("r6")])));
        await Step("set_perms x with 5 entries", () => Ok(async () => await guest.SetPermissionsAsync("x", [P($"n{DomainId}"), P("r1"), P("r2"), P("r3"), P("r5")])));
        await Step("get_perms x", async () => string.Join(',', await guest.GetPermissionsAsync("x")));
        await Step("dom0: write x/by-dom0", () => Ok(async () => await dom0.WriteAsync($"{home}/x/by-dom0", "")));
        await Step("get_perms x/by-dom0", async () => string.Join(',', await guest.GetPermissionsAsync("x/by-dom0")));

        // Watch events for nodes the guest may not read are not sent to it; events stay in order, so the event of a
        // later readable change shows whether an earlier one was sent.
        await using (XenStoreWatch watch = await guest.WatchAsync("/ref", "all"))
        {
            await Step("initial event of /ref", async () => (await watch.ReadAsync()).Path);
            await dom0.WriteAsync("/ref/private", "changed");
            await dom0.WriteAsync("/ref/visible", "changed");
            await Step("next event after a private then a visible change", async () => (await watch.ReadAsync()).Path);
        }

        await using (XenStoreWatch watch = await guest.WatchAsync("/ref/private", "priv"))
        await using (XenStoreWatch marker = await guest.WatchAsync("/ref/visible", "marker"))
        {
            await Step("first event after watching /ref/private then /ref/visible", async () =>
            {
                XenStoreWatchEvent first = await Task.WhenAny(watch.ReadAsync().AsTask(), marker.ReadAsync().AsTask()).Unwrap();
                return $"{first.Path} {first.Token}";
            });
        }

        // Transaction and watch quotas.
        var transactions = new List<XenStoreTransaction>();
        await Step("transactions opened", async () =>
        {
            try
            {
                while (transactions.Count < 50)
                {
                    transactions.Add(await guest.StartTransactionAsync());
                }

                return "50";
            }
            catch (XenStoreErrorException e)
            {
                return $"{transactions.Count} then {e.RawError}";
            }
        });
        foreach (XenStoreTransaction tx in transactions)
        {
            await tx.AbortAsync();
        }

        var watches = new List<XenStoreWatch>();
        await Step("watches set", async () =>
        {
            try
            {
                while (watches.Count < 300)
                {
                    watches.Add(await guest.WatchAsync("x", $"w{watches.Count}"));
                }

                return "300";
            }
            catch (XenStoreErrorException e)
            {
                return $"{watches.Count} then {e.RawError}";
            }
        });
        foreach (XenStoreWatch w in watches)
        {
            await w.DisposeAsync();
        }

        return log;
    }
}
