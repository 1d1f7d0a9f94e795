using System.Globalization;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;
using Xunit.Abstractions;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// C xenstored 4.17 as referee of what a request's transaction id means before the request itself is looked at:
/// WATCH and UNWATCH ignore it (a watch sent with the id of no transaction, or of one that has ended, still
/// registers); an unknown request type is ENOSYS whatever its id; any other request with an id no open transaction
/// has is ENOENT, TRANSACTION_START included, and with an open one's id TRANSACTION_START is EBUSY. The same bytes go
/// to each daemon over its socket.
/// </summary>
[Trait("Category", "Interop")]
public class TransactionIdRefereeTests(ITestOutputHelper output)
{
    private const uint NoSuchTransaction = 4242;

    private static readonly string[] Expected =
    [
        "watch /tid/w with no such transaction: Watch OK|",
        "initial event: WatchEvent /tid/w|a|",
        "b: write /tid/w/x: Write OK|",
        "event: WatchEvent /tid/w/x|a|",
        "unwatch /tid/w with no such transaction: Unwatch OK|",
        "read /tid/w/x with no such transaction: Error ENOENT|",
        "type 200 with no such transaction: Error ENOSYS|",
        "transaction_start with no such transaction: Error ENOENT|",
        "transaction_start: an id",
        "transaction_start with its id: Error EBUSY|",
        "watch /tid/v with its id: Watch OK|",
        "initial event: WatchEvent /tid/v|b|",
        "transaction_end: TransactionEnd OK|",
        "watch /tid/u with the ended transaction's id: Watch OK|",
        "initial event: WatchEvent /tid/u|c|",
        "unwatch /tid/v with the ended transaction's id: Unwatch OK|",
        "write /tid/w/y with the ended transaction's id: Error ENOENT|",
    ];

    [Fact]
    public async Task Our_server_reads_a_requests_transaction_id_as_c_xenstored_does()
    {
        var (theirs, ours) = await RefereeScript.RunAsync(XenstoredKind.C, (socket, _, log, token) => RunScriptAsync(socket, log, token), output);
        Assert.Equal(theirs, ours);
        Assert.Equal(Expected, ours);
    }

    private static async Task RunScriptAsync(string socketPath, List<string> log, CancellationToken token)
    {
        await using RawXenStoreConnection c = await RawXenStoreConnection.ConnectAsync(socketPath, token);
        await using RawXenStoreConnection b = await RawXenStoreConnection.ConnectAsync(socketPath, token); // changes from elsewhere, so that c's event comes alone
        async Task Step(string name, Task<string> answer) => log.Add($"{name}: {await answer}");

        await Step("watch /tid/w with no such transaction", c.CallAsync(XsMessageType.Watch, NoSuchTransaction, ["/tid/w", "a"]));
        await Step("initial event", c.NextAsync());
        await Step("b: write /tid/w/x", b.CallAsync(XsMessageType.Write, 0, ["/tid/w/x"], "1"));
        await Step("event", c.NextAsync());
        await Step("unwatch /tid/w with no such transaction", c.CallAsync(XsMessageType.Unwatch, NoSuchTransaction, ["/tid/w", "a"]));
        await Step("read /tid/w/x with no such transaction", c.CallAsync(XsMessageType.Read, NoSuchTransaction, ["/tid/w/x"]));
        await Step("type 200 with no such transaction", c.CallAsync((XsMessageType)200, NoSuchTransaction, ["/tid"]));
        await Step("transaction_start with no such transaction", c.CallAsync(XsMessageType.TransactionStart, NoSuchTransaction, [""]));

        string started = await c.CallAsync(XsMessageType.TransactionStart, "");
        uint tx = uint.Parse(started["TransactionStart ".Length..].TrimEnd('|'), CultureInfo.InvariantCulture);
        log.Add("transaction_start: an id");
        await Step("transaction_start with its id", c.CallAsync(XsMessageType.TransactionStart, tx, [""]));
        await Step("watch /tid/v with its id", c.CallAsync(XsMessageType.Watch, tx, ["/tid/v", "b"]));
        await Step("initial event", c.NextAsync());
        await Step("transaction_end", c.CallAsync(XsMessageType.TransactionEnd, tx, ["T"]));
        await Step("watch /tid/u with the ended transaction's id", c.CallAsync(XsMessageType.Watch, tx, ["/tid/u", "c"]));
        await Step("initial event", c.NextAsync());
        await Step("unwatch /tid/v with the ended transaction's id", c.CallAsync(XsMessageType.Unwatch, tx, ["/tid/v", "b"]));
        await Step("write /tid/w/y with the ended transaction's id", c.CallAsync(XsMessageType.Write, tx, ["/tid/w/y"], "1"));
    }
}
