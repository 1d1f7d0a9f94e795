using System.Buffers.Binary;
using System.Globalization;
using Xen.Interop.Tests.EmbeddedServer;
using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;
using Xunit.Abstractions;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// A guest over its xenstore ring while <c>xen store serve --peer-dir --state-dir</c> is killed with SIGKILL and
/// started again on the same directories. The C guest built from <c>xs_wire.h</c> (<c>tests/native/xs_guest.c</c>)
/// never reconnects or re-registers anything, so it keeps working only if the new server maps its page and binds its
/// channel again from the journalled domain table, answers what it finds waiting in <c>req[]</c> (the indices live in
/// the shared page, and the kick went to the dead server), registers its watch again from the journal and fires it
/// once, and still counts the nodes the guest owns against its quota.
/// </summary>
[Trait("Category", "Interop")]
public sealed class RingGuestRestartTests(ITestOutputHelper output)
{
    private const uint DomainId = 7;
    private const uint Port = 9;
    private const int NodeQuota = 40;
    private const string PrivatePath = "/dom0-only/secret";

    // struct xenstore_domain_interface: req[1024], rsp[1024], then req_cons, req_prod (xs_wire.h).
    private const int ReqConsOffset = 2048;
    private const int ReqProdOffset = 2052;

    // The guest's first request, GET_DOMAIN_PATH "7\0": a 16-byte header and its payload, written as two pieces.
    private const uint FirstRequestByteCount = 16 + 2;

    [Fact]
    public async Task A_c_guest_gets_its_pending_request_answered_its_watch_refired_and_the_change_after_kill_KILLs_and_restarts()
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.XenTool);
        string guestProgram = await NativeGuest.XsGuestAsync();
        string directory = $"/tmp/xr-{Guid.NewGuid().ToString("N")[..8]}"; // short: the channels' socket paths live here
        Directory.CreateDirectory(directory);
        string peers = Path.Combine(directory, "peers");
        Directory.CreateDirectory(peers);
        string state = Path.Combine(directory, "state");
        string socket = Path.Combine(directory, "socket");
        string page = Path.Combine(peers, $"xs-ring-{DomainId}");
        string home = $"/local/domain/{DomainId}";
        PeerDaemon? server = null;
        try
        {
            server = await StartServerAsync(socket, peers, state);
            await using (XenStoreClient dom0 = await XenStoreClient.ConnectAsync(socket))
            {
                await dom0.MkdirAsync(home);
                await dom0.SetPermissionsAsync(home, [XsPermission.Parse($"n{DomainId}")]);
                await dom0.WriteAsync(PrivatePath, "dom0's");
                await dom0.SetPermissionsAsync(PrivatePath, [XsPermission.Parse("n0")]);
                await File.WriteAllBytesAsync(page, new byte[4096]);
                await dom0.IntroduceAsync(DomainId, 0, Port);
            }

            // 1. The server stopped before the guest's first request: it lies in req[], whole and unconsumed, when the
            // server dies, and the guest's kicks went to the dead server.
            await PeerCommand.RunCheckedAsync("/bin/kill", ["-STOP", server.ProcessId.ToString(CultureInfo.InvariantCulture)]);
            using PeerDaemon guest = PeerDaemon.Start(
                guestProgram,
                [peers, DomainId.ToString(CultureInfo.InvariantCulture), Port.ToString(CultureInfo.InvariantCulture), PrivatePath, "--until-change"],
                new Dictionary<string, string>());
            await Deadline.PollAsync(
                () => RequestBytesWaiting(page) == FirstRequestByteCount || guest.HasExited,
                () => $"the C guest did not put its first request in req[] ({RequestBytesWaiting(page)} bytes there): {guest.Output}");
            Assert.False(guest.HasExited, guest.Output);
            server = await RestartAsync(server, socket, peers, state);
            await Deadline.PollAsync(
                () => guest.Output.Contains("watching\n", StringComparison.Ordinal) || guest.HasExited,
                () => $"the C guest did not get to its watch after the restart:\n{guest.Output}\nthe server:\n{server.Output}");
            Assert.False(guest.HasExited, guest.Output);

            // 2. The guest sits in recv() on its channel, its watch registered with the server about to die.
            server = await RestartAsync(server, socket, peers, state);
            await using XenStoreClient dom0After = await XenStoreClient.ConnectAsync(socket);
            await dom0After.WriteAsync($"{home}/data/w/changed", "by dom0 after the restart");
            await Deadline.PollAsync(
                () => guest.HasExited,
                () => $"the C guest did not finish after the second restart:\n{guest.Output}\nthe server:\n{server.Output}");

            output.WriteLine($"the guest:\n{guest.Output}\nthe last server:\n{server.Output}");
            string[] lines = guest.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines[^1] == "[xs_guest exited with status 0]", $"{guest.Output}\nthe server:\n{server.Output}");
            Assert.Equal(
                [
                    $"path {home}", // the request the first server never read, answered by the second
                    "read written-by-c",
                    "private EACCES",
                    "event data/w ctok",
                    "watching",
                    "event data/w ctok", // the restored watch fired once, as at registration
                    "event data/w/changed ctok", // the change made on the third server, through the restored watch
                ],
                lines[..7]);

            // Its writes after the restarts were answered until its quota was used up, counting what it owned before.
            string[] quota = lines[7].Split(' ');
            Assert.True(quota is ["quota", _, "ENOSPC"], guest.Output);
            int written = int.Parse(quota[1], CultureInfo.InvariantCulture);
            Assert.InRange(written, 1, NodeQuota);
            Assert.True(await dom0After.ExistsAsync($"{home}/quota/n{written - 1}"));
            Assert.False(await dom0After.ExistsAsync($"{home}/quota/n{written}"));
            Assert.Equal(NodeQuota, await OwnedNodes.CountAsync(dom0After, home, DomainId));
            Assert.Equal("done", lines[8]);
            Assert.Equal("written-by-c", await dom0After.ReadStringAsync($"{home}/data/c")); // written before the second kill
        }
        finally
        {
            server?.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Kills <paramref name="server"/> with SIGKILL (stopped or not) and starts it again with the same arguments.</summary>
    private static async Task<PeerDaemon> RestartAsync(PeerDaemon server, string socket, string peers, string state)
    {
        server.Dispose();
        PeerDaemon restarted = await StartServerAsync(socket, peers, state);
        await Deadline.PollAsync(
            () => restarted.Output.Contains("serving the ring", StringComparison.Ordinal) || restarted.HasExited,
            () => $"the restarted server did not say whether it serves the guest's ring again: {restarted.Output}");
        string output = restarted.Output;
        if (!output.Contains($"xen store serve: resumed {state} at change ", StringComparison.Ordinal) ||
            !output.Contains($"xen store serve: serving the rings of domains {DomainId} again", StringComparison.Ordinal))
        {
            restarted.Dispose();
            Assert.Fail($"the restarted server did not resume domain {DomainId}'s ring: {output}");
        }

        return restarted;
    }

    private static Task<PeerDaemon> StartServerAsync(string socket, string peers, string state) =>
        StoreServeProcess.StartAsync(["--socket", socket, "--peer-dir", peers, "--state-dir", state, "-E", NodeQuota.ToString(CultureInfo.InvariantCulture)]);

    /// <summary>req_prod - req_cons of the page file (read through the page cache the guest's mapping shares).</summary>
    private static uint RequestBytesWaiting(string page)
    {
        using var file = new FileStream(page, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Span<byte> indices = stackalloc byte[8];
        file.Position = ReqConsOffset;
        file.ReadExactly(indices);
        return unchecked(BinaryPrimitives.ReadUInt32LittleEndian(indices[(ReqProdOffset - ReqConsOffset)..]) - BinaryPrimitives.ReadUInt32LittleEndian(indices));
    }
}
