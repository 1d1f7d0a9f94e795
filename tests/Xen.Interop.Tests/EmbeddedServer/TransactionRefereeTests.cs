using System.Globalization;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;
using Xunit.Abstractions;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// C xenstored as referee of our server's transactions (oxenstored merges conflicting transactions differently, so
/// it is no referee here): which conflicts make a commit answer EAGAIN, what a transaction sees of its own writes and
/// others see of them, and that watch events of a transaction's changes come at its commit.
/// </summary>
[Trait("Category", "Interop")]
public class TransactionRefereeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Transactions_commit_or_fail_with_eagain_as_in_c_xenstored()
    {
        var (theirs, ours) = await RefereeScript.RunAsync(XenstoredKind.C, (socket, _, log, token) => RunScriptAsync(socket, log, token), output);
        Assert.Equal(theirs, ours);
    }

    private static async Task RunScriptAsync(string socketPath, List<string> log, CancellationToken token)
    {
        await using RawXenStoreConnection a = await RawXenStoreConnection.ConnectAsync(socketPath, token);
        await using RawXenStoreConnection b = await RawXenStoreConnection.ConnectAsync(socketPath, token);
        await using RawXenStoreConnection c = await RawXenStoreConnection.ConnectAsync(socketPath, token);
        async Task Step(string name, Task<string> answer) => log.Add($"{name}: {await answer}");
        async Task<uint> Start(string name)
        {
            string started = await a.CallAsync(XsMessageType.TransactionStart, "");
            log.Add($"{name}: start");
            return uint.Parse(started["TransactionStart ".Length..].TrimEnd('|'), CultureInfo.InvariantCulture);
        }

        Task<string> Write(RawXenStoreConnection conn, uint tx, string path, string value) => conn.CallAsync(XsMessageType.Write, tx, [path], value);
        Task<string> Commit(uint tx) => a.CallAsync(XsMessageType.TransactionEnd, tx, ["T"]);

        await Step("setup", Write(a, 0, "/t/base", "0"));

        uint tx = await Start("read of a missing node, created meanwhile");
        await Step("tx read /t/m1", a.CallAsync(XsMessageType.Read, tx, ["/t/m1"]));
        await Step("b write /t/m1", Write(b, 0, "/t/m1", "b"));
        await Step("tx write /t/o1", Write(a, tx, "/t/o1", "a"));
        await Step("commit", Commit(tx));

        tx = await Start("directory, a child added meanwhile");
        await Step("tx directory /t", a.CallAsync(XsMessageType.Directory, tx, ["/t"]));
        await Step("b write /t/new", Write(b, 0, "/t/new", "b"));
        await Step("tx write /t/o2", Write(a, tx, "/t/o2", "a"));
        await Step("commit", Commit(tx));

        tx = await Start("an unrelated node changed meanwhile");
        await Step("tx write /t/o3", Write(a, tx, "/t/o3", "a"));
        await Step("b write /u/x", Write(b, 0, "/u/x", "b"));
        await Step("commit", Commit(tx));

        tx = await Start("rm of a node that gained a child meanwhile");
        await Step("b write /t/z", Write(b, 0, "/t/z", "b"));
        await Step("tx rm /t/z", a.CallAsync(XsMessageType.Rm, tx, ["/t/z"]));
        await Step("b write /t/z/child", Write(b, 0, "/t/z/child", "b"));
        await Step("commit", Commit(tx));

        tx = await Start("write below a node removed meanwhile");
        await Step("b write /v/keep", Write(b, 0, "/v/keep", "b"));
        await Step("tx write /v/w", Write(a, tx, "/v/w", "a"));
        await Step("b rm /v", b.CallAsync(XsMessageType.Rm, 0, ["/v"]));
        await Step("commit", Commit(tx));

        tx = await Start("permissions read, changed meanwhile");
        await Step("tx get_perms /t/base", a.CallAsync(XsMessageType.GetPerms, tx, ["/t/base"]));
        await Step("b set_perms /t/base", b.CallAsync(XsMessageType.SetPerms, 0, ["/t/base", "n0", "r3"]));
        await Step("tx write /t/o4", Write(a, tx, "/t/o4", "a"));
        await Step("commit", Commit(tx));

        tx = await Start("same value written meanwhile");
        await Step("tx read /t/base", a.CallAsync(XsMessageType.Read, tx, ["/t/base"]));
        await Step("b write /t/base (same value)", Write(b, 0, "/t/base", "0"));
        await Step("tx write /t/o5", Write(a, tx, "/t/o5", "a"));
        await Step("commit", Commit(tx));

        tx = await Start("isolation and abort");
        await Step("tx write /t/iso", Write(a, tx, "/t/iso", "in-tx"));
        await Step("tx read /t/iso", a.CallAsync(XsMessageType.Read, tx, ["/t/iso"]));
        await Step("b read /t/iso", b.CallAsync(XsMessageType.Read, 0, ["/t/iso"]));
        await Step("abort", a.CallAsync(XsMessageType.TransactionEnd, tx, ["F"]));
        await Step("b read /t/iso", b.CallAsync(XsMessageType.Read, 0, ["/t/iso"]));

        // Events of a transaction's write come at its commit, after those of a plain write made before the commit.
        // (Disjoint subtrees, so that the commit succeeds.)
        await Step("write /e/in", Write(a, 0, "/e/in", ""));
        await Step("write /e/plain", Write(a, 0, "/e/plain", ""));
        await Step("b watch /e", b.CallAsync(XsMessageType.Watch, 0, ["/e", "e"]));
        await Step("b initial event", b.NextAsync());
        tx = await Start("events at commit");
        await Step("tx write /e/in/x", Write(a, tx, "/e/in/x", "a"));
        await Step("c write /e/plain/y", Write(c, 0, "/e/plain/y", "c"));
        await Step("commit", Commit(tx));
        await Step("b event", b.NextAsync());
        await Step("b event", b.NextAsync());
    }
}
