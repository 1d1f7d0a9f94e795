using Xen.Store.Client;
using Xen.Store.Vchan;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Vchan;

/// <summary>
/// Our vchan (<c>xen vchan serve|connect</c>) against Xen's own <c>vchan-socket-proxy</c> (Debian's libxenvchan), each
/// a process playing its own domain under the shim, with a real C xenstored between them: each of ours in both roles,
/// bulk data both ways, round trips, clean closes and SIGKILLs seen from the other side, and reconnection.
/// </summary>
[Trait("Category", "Interop")]
public sealed class VchanSocketProxyTests
{
    private const int BulkBytes = 10 * 1024 * 1024;

    public static TheoryData<bool> OursIsServer => new() { true, false };

    [Theory]
    [MemberData(nameof(OursIsServer))]
    public async Task Ten_MiB_each_way_at_once_arrive_intact_and_a_clean_close_ends_both_ends(bool oursIsServer)
    {
        await using XenstoredPeer xenstore = await VchanPair.StartXenstoreAsync();
        string path = VchanPair.Path(5000);
        (VchanProcess server, VchanProcess client) = VchanPair.StartWithProxy(xenstore, oursIsServer, path);
        using VchanProcess serverEnd = server;
        using VchanProcess clientEnd = client;

        byte[] toServer = VchanPair.RandomBytes(BulkBytes, 1);
        byte[] toClient = VchanPair.RandomBytes(BulkBytes, 2);
        (string atServer, string atClient) = await VchanPair.ExchangeAsync(server, client, toServer, toClient);
        Assert.Equal(VchanPair.Hash(toServer), atServer);
        Assert.Equal(VchanPair.Hash(toClient), atClient);

        // The client's input ends: it closes the vchan and exits; the server sees cli_live 0, exits, and removes its nodes.
        client.CloseInput();
        Assert.Equal(0, await client.WaitForExitAsync());
        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Null(await xenstore.TryReadAsync($"{path}/{VchanServer.RingRefNode}"));
    }

    [Theory]
    [MemberData(nameof(OursIsServer))]
    public async Task One_byte_round_trips_through_an_echo_come_back_in_order(bool oursIsServer)
    {
        await using XenstoredPeer xenstore = await VchanPair.StartXenstoreAsync();
        string path = VchanPair.Path(5001);
        (VchanProcess server, VchanProcess client) = VchanPair.StartWithProxy(xenstore, oursIsServer, path);
        using VchanProcess serverEnd = server;
        using VchanProcess clientEnd = client;
        using var stop = new CancellationTokenSource();
        Task echo = VchanPair.EchoAsync(server, stop.Token);

        for (int i = 0; i < 300; i++)
        {
            await VchanPair.OneByteAsync(client, client, (byte)i);
        }

        client.CloseInput();
        Assert.Equal(0, await client.WaitForExitAsync());
        Assert.Equal(0, await server.WaitForExitAsync());
        await echo; // the server's output ended with it
    }

    [Fact]
    public async Task Our_server_publishes_the_nodes_and_permissions_vchan_socket_proxys_server_does()
    {
        await using XenstoredPeer xenstore = await VchanPair.StartXenstoreAsync();
        using VchanProcess real = VchanProcess.Proxy(xenstore, VchanPair.ServerDomain, "server", VchanPair.ClientDomain, VchanPair.Path(1));
        using VchanProcess ours = VchanProcess.Ours(xenstore, VchanPair.ServerDomain, "serve", "2", VchanPair.Path(2));
        await using XenStoreClient store = await XenStoreClient.ConnectAsync(xenstore.SocketPath);

        foreach (string node in new[] { VchanServer.RingRefNode, VchanServer.EventChannelNode })
        {
            IReadOnlyList<XsPermission> expected = await PublishedPermissionsAsync(store, $"{VchanPair.Path(1)}/{node}", real);
            IReadOnlyList<XsPermission> actual = await PublishedPermissionsAsync(store, $"{VchanPair.Path(2)}/{node}", ours);
            Assert.Equal(expected, actual);
            Assert.Equal([new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, (ushort)VchanPair.ClientDomain)], actual);
            Assert.True(uint.TryParse(await store.ReadStringAsync($"{VchanPair.Path(2)}/{node}"), out uint value) && value != 0, $"{node} is a non-zero number");
        }

        Assert.Equal(
            (await store.DirectoryAsync(VchanPair.Path(1))).Order(StringComparer.Ordinal),
            (await store.DirectoryAsync(VchanPair.Path(2))).Order(StringComparer.Ordinal));
    }

    public static TheoryData<bool, bool> Killings => new()
    {
        { true, true },   // ours serves, the real client is killed
        { true, false },  // ours serves and is killed
        { false, true },  // ours connects, the real server is killed
        { false, false }, // ours connects and is killed
    };

    [Theory]
    [MemberData(nameof(Killings))]
    public async Task A_sigkilled_end_is_noticed_by_the_other_which_exits_and_a_new_pair_connects_afterwards(bool oursIsServer, bool killTheirs)
    {
        await using XenstoredPeer xenstore = await VchanPair.StartXenstoreAsync();
        string path = VchanPair.Path(5002);
        for (int round = 0; round < 2; round++)
        {
            (VchanProcess server, VchanProcess client) = VchanPair.StartWithProxy(xenstore, oursIsServer, path);
            using VchanProcess serverEnd = server;
            using VchanProcess clientEnd = client;
            await VchanPair.OneByteAsync(client, server, (byte)(round + 'a'));
            await VchanPair.OneByteAsync(server, client, (byte)(round + 'A'));
            if (round == 1)
            {
                break; // the second pair connected over the first's leftovers; the using blocks end it
            }

            bool killServer = oursIsServer != killTheirs;
            VchanProcess killed = killServer ? server : client;
            VchanProcess survivor = killServer ? client : server;
            killed.KillHard();
            _ = await killed.WaitForExitAsync();
            Assert.Equal(0, await survivor.WaitForExitAsync()); // noticed through the unmap notification: live byte 0 and an event
            if (!killServer)
            {
                Assert.Null(await xenstore.TryReadAsync($"{path}/{VchanServer.RingRefNode}")); // the server removed its nodes
            }
        }
    }

    private static async Task<IReadOnlyList<XsPermission>> PublishedPermissionsAsync(XenStoreClient store, string node, VchanProcess server)
    {
        await Deadline.RunAsync(async token =>
        {
            while (!await store.ExistsAsync(node, token))
            {
                await Task.Delay(Deadline.PollInterval, token);
            }
        }, () => $"{node} was not published; {server.Errors}");
        return await store.GetPermissionsAsync(node);
    }
}
