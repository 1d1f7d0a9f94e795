using System.Globalization;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Guests;
using Xen.TestSupport.Peers;
using Xunit.Abstractions;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// oxenstored (and C xenstored) as referees of our embedded server: one script of requests, sent byte for byte the
/// same to each server, whose answers must match, covering behaviours on which the two real daemons agree: MKDIR of
/// an existing node, an empty DIRECTORY, the initial watch event, EEXIST for a duplicate watch and ENOENT for
/// unwatching what is not watched, events for a change below a watch and for the removal of the watched node or of a
/// subtree holding it, dom0's relative paths, EINVAL for a bad path, ENOENT for missing nodes (and for RM under a
/// missing parent), EBUSY for a nested transaction, EAGAIN for a read-modify-write transaction that lost, and EACCES
/// for a guest on dom0's node.
/// </summary>
[Trait("Category", "Interop")]
public class OxenstoredRefereeTests(ITestOutputHelper output)
{
    private const uint GuestDomainId = 6;
    private const uint GuestPort = 11;

    /// <summary>What every server answers; the script's steps, one line each.</summary>
    private static readonly string[] Expected =
    [
        "write /ref/a: Write OK|",
        "mkdir /ref/a (exists): Mkdir OK|",
        "directory /ref/a (no children): Directory ",
        "get_perms /ref/a: GetPerms n0|",
        "watch /ref/w tok: Watch OK|",
        "initial event: WatchEvent /ref/w|tok|",
        "watch /ref/w tok again: Error EEXIST|",
        "unwatch /ref/w other: Error ENOENT|",
        "unwatch /ref/w tok: Unwatch OK|",
        "watch /ref/sub sub: Watch OK|",
        "initial event: WatchEvent /ref/sub|sub|",
        "b: write /ref/sub/c: Write OK|",
        "event: WatchEvent /ref/sub/c|sub|",
        "b: rm /ref/sub: Rm OK|",
        "event: WatchEvent /ref/sub|sub|",
        "b: write /ref/s2/deep/er: Write OK|",
        "watch /ref/s2/deep/er deep: Watch OK|",
        "initial event: WatchEvent /ref/s2/deep/er|deep|",
        "b: rm /ref/s2: Rm OK|",
        "event: WatchEvent /ref/s2/deep/er|deep|",
        "write rel/x: Write OK|",
        "read /local/domain/0/rel/x: Read r",
        "write /ref/bad$path: Error EINVAL|",
        "directory /ref/nope: Error ENOENT|",
        "get_perms /ref/nope: Error ENOENT|",
        "read /ref/nope: Error ENOENT|",
        "rm /ref/nope/child (parent missing): Error ENOENT|",
        "rm /ref/nope (parent exists): Rm OK|",
        "transaction_start: an id",
        "transaction_start inside it: Error EBUSY|",
        "tx: read /ref/a: Read 1",
        "b: write /ref/a: Write OK|",
        "tx: write /ref/a: Write OK|",
        "transaction_end T: Error EAGAIN|",
        "read /ref/a: Read 2",
        "write /ref/private: Write OK|",
        "set_perms /ref/private n0: SetPerms OK|",
        "guest: read /ref/private: EACCES",
        "guest: write /ref/private: EACCES",
        "guest: get_domain_path: /local/domain/6",
    ];

    [Theory]
    [InlineData(XenstoredKind.OCaml)]
    [InlineData(XenstoredKind.C)]
    public async Task Our_server_answers_the_script_as_the_real_daemon_does(XenstoredKind referee)
    {
        var (theirs, ours) = await RefereeScript.RunAsync(referee, RunScriptAsync, output);
        Assert.Equal(theirs, ours);
        Assert.Equal(Expected, ours);
    }

    private static async Task RunScriptAsync(string socketPath, string stateDirectory, List<string> log, CancellationToken token)
    {
        await using RawXenStoreConnection a = await RawXenStoreConnection.ConnectAsync(socketPath, token);
        await using RawXenStoreConnection b = await RawXenStoreConnection.ConnectAsync(socketPath, token);
        async Task Step(string name, Task<string> answer) => log.Add($"{name}: {await answer}");

        await Step("write /ref/a", a.CallAsync(XsMessageType.Write, 0, ["/ref/a"], "1"));
        await Step("mkdir /ref/a (exists)", a.CallAsync(XsMessageType.Mkdir, "/ref/a"));
        await Step("directory /ref/a (no children)", a.CallAsync(XsMessageType.Directory, "/ref/a"));
        await Step("get_perms /ref/a", a.CallAsync(XsMessageType.GetPerms, "/ref/a"));

        // Watches: the initial event follows the reply; a duplicate (path, token) and an unknown one are errors.
        await Step("watch /ref/w tok", a.CallAsync(XsMessageType.Watch, "/ref/w", "tok"));
        await Step("initial event", a.NextAsync());
        await Step("watch /ref/w tok again", a.CallAsync(XsMessageType.Watch, "/ref/w", "tok"));
        await Step("unwatch /ref/w other", a.CallAsync(XsMessageType.Unwatch, "/ref/w", "other"));
        await Step("unwatch /ref/w tok", a.CallAsync(XsMessageType.Unwatch, "/ref/w", "tok"));

        // Events for another connection's changes below the watch, and for the removal of the watched node.
        await Step("watch /ref/sub sub", a.CallAsync(XsMessageType.Watch, "/ref/sub", "sub"));
        await Step("initial event", a.NextAsync());
        await Step("b: write /ref/sub/c", b.CallAsync(XsMessageType.Write, 0, ["/ref/sub/c"], "x"));
        await Step("event", a.NextAsync());
        await Step("b: rm /ref/sub", b.CallAsync(XsMessageType.Rm, "/ref/sub"));
        await Step("event", a.NextAsync());

        // A watch inside a subtree that is removed reports its own path.
        await Step("b: write /ref/s2/deep/er", b.CallAsync(XsMessageType.Write, 0, ["/ref/s2/deep/er"], "x"));
        await Step("watch /ref/s2/deep/er deep", a.CallAsync(XsMessageType.Watch, "/ref/s2/deep/er", "deep"));
        await Step("initial event", a.NextAsync());
        await Step("b: rm /ref/s2", b.CallAsync(XsMessageType.Rm, "/ref/s2"));
        await Step("event", a.NextAsync());

        // A relative path on a socket connection is dom0's.
        await Step("write rel/x", a.CallAsync(XsMessageType.Write, 0, ["rel/x"], "r"));
        await Step("read /local/domain/0/rel/x", a.CallAsync(XsMessageType.Read, "/local/domain/0/rel/x"));
        await Step("write /ref/bad$path", a.CallAsync(XsMessageType.Write, 0, ["/ref/bad$path"], "x"));

        // Missing nodes.
        await Step("directory /ref/nope", a.CallAsync(XsMessageType.Directory, "/ref/nope"));
        await Step("get_perms /ref/nope", a.CallAsync(XsMessageType.GetPerms, "/ref/nope"));
        await Step("read /ref/nope", a.CallAsync(XsMessageType.Read, "/ref/nope"));
        await Step("rm /ref/nope/child (parent missing)", a.CallAsync(XsMessageType.Rm, "/ref/nope/child"));
        await Step("rm /ref/nope (parent exists)", a.CallAsync(XsMessageType.Rm, "/ref/nope"));

        // A read-modify-write transaction loses when another connection changed the node meanwhile, and the other
        // write stands. (A transaction that only wrote a node another connection created meanwhile is where the
        // daemons differ: C xenstored answers EAGAIN, oxenstored merges and commits.)
        string started = await a.CallAsync(XsMessageType.TransactionStart, "");
        uint tx = uint.Parse(started["TransactionStart ".Length..].TrimEnd('|'), CultureInfo.InvariantCulture);
        log.Add($"transaction_start: {(tx != 0 ? "an id" : started)}");
        await Step("transaction_start inside it", a.CallAsync(XsMessageType.TransactionStart, tx, [""]));
        await Step("tx: read /ref/a", a.CallAsync(XsMessageType.Read, tx, ["/ref/a"]));
        await Step("b: write /ref/a", b.CallAsync(XsMessageType.Write, 0, ["/ref/a"], "2"));
        await Step("tx: write /ref/a", a.CallAsync(XsMessageType.Write, tx, ["/ref/a"], "1+1"));
        await Step("transaction_end T", a.CallAsync(XsMessageType.TransactionEnd, tx, ["T"]));
        await Step("read /ref/a", a.CallAsync(XsMessageType.Read, "/ref/a"));

        // A guest over its ring may neither read nor write a node only dom0 may access.
        await Step("write /ref/private", a.CallAsync(XsMessageType.Write, 0, ["/ref/private"], "dom0's"));
        await Step("set_perms /ref/private n0", a.CallAsync(XsMessageType.SetPerms, "/ref/private", "n0"));
        await using XenStoreClient dom0 = await XenStoreClient.ConnectAsync(socketPath, cancellationToken: token);
        await using RingGuest guest = await RingGuest.IntroduceAsync(dom0, stateDirectory, GuestDomainId, GuestPort, token);
        log.Add($"guest: read /ref/private: {await ErrorOf(() => guest.Client.ReadAsync("/ref/private", token).AsTask())}");
        log.Add($"guest: write /ref/private: {await ErrorOf(() => guest.Client.WriteAsync("/ref/private", "guest's", token).AsTask())}");
        log.Add($"guest: get_domain_path: {await guest.Client.GetDomainPathAsync(GuestDomainId, token)}");
    }

    private static async Task<string> ErrorOf(Func<Task> operation)
    {
        try
        {
            await operation();
            return "OK";
        }
        catch (XenStoreErrorException e)
        {
            return e.RawError;
        }
    }
}
