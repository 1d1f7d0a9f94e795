using System.Text.RegularExpressions;
using Xen.Store.Vchan;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Vchan;

/// <summary>
/// Our vchan against libxenvchan called directly (<c>tests/native/vchan_peer.c</c>), for what vchan-socket-proxy never
/// asks for: rings of any size, so orders 12 to 20 in granted pages of their own as well as the in-page ones. Each of
/// ours in both roles; the orders our server picks are the ones libxenvchan's server picks for the same sizes. And ours
/// against ours across two processes.
/// </summary>
[Trait("Category", "Interop")]
public sealed partial class VchanLibxenvchanTests
{
    private const int CheckBytes = 8 * 1024 * 1024;

    /// <summary>(the server's read minimum, its write minimum): in-page, one ring in pages, both in pages, the largest.</summary>
    public static TheoryData<int, int> RingSizes => new()
    {
        { 0, 0 },
        { 2048, 8192 },
        { 65536, 131072 },
        { 1048576, 4096 },
    };

    [Theory]
    [MemberData(nameof(RingSizes))]
    public async Task Ours_as_client_of_a_libxenvchan_server_echoes_8_MiB_intact(int readMin, int writeMin)
    {
        await using XenstoredPeer xenstore = await VchanPair.StartXenstoreAsync();
        string path = VchanPair.Path(6000);
        using VchanProcess server = await VchanProcess.NativeAsync(xenstore, VchanPair.ServerDomain, "server", VchanPair.ClientDomain, path, readMin, writeMin, "echo");
        using VchanProcess client = VchanProcess.Ours(xenstore, VchanPair.ClientDomain, "connect", "1", path);

        byte[] pattern = VchanPair.CheckPattern(CheckBytes);
        Task<byte[]> echoed = client.ReadExactlyAsync(pattern.Length);
        await client.WriteAsync(pattern);
        Assert.Equal(VchanPair.Hash(pattern), VchanPair.Hash(await echoed));

        client.CloseInput();
        Assert.Equal(0, await client.WaitForExitAsync());
        Assert.Equal(0, await server.WaitForExitAsync()); // libxenvchan saw our close
    }

    [Theory]
    [MemberData(nameof(RingSizes))]
    public async Task Ours_as_server_picks_libxenvchans_ring_orders_and_a_libxenvchan_client_checks_8_MiB_through_it(int readMin, int writeMin)
    {
        await using XenstoredPeer xenstore = await VchanPair.StartXenstoreAsync();

        // libxenvchan's own server, for the orders it picks for these sizes.
        (int Read, int Write) theirs;
        using (VchanProcess reference = await VchanProcess.NativeAsync(xenstore, VchanPair.ServerDomain, "server", VchanPair.ClientDomain, VchanPair.Path(6001), readMin, writeMin, "echo"))
        using (VchanProcess probe = await VchanProcess.NativeAsync(xenstore, VchanPair.ClientDomain, "client", VchanPair.ServerDomain, VchanPair.Path(6001), 0, 0, "check", "1"))
        {
            Assert.Equal(0, await probe.WaitForExitAsync());
            theirs = Orders(probe.Errors);
        }

        string path = VchanPair.Path(6002);
        using VchanProcess server = VchanProcess.Ours(xenstore, VchanPair.ServerDomain, "serve", "2",
            path, "--read-min", readMin.ToString(System.Globalization.CultureInfo.InvariantCulture), "--write-min", writeMin.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var stop = new CancellationTokenSource();
        Task echo = VchanPair.EchoAsync(server, stop.Token);
        using VchanProcess client = await VchanProcess.NativeAsync(xenstore, VchanPair.ClientDomain, "client", VchanPair.ServerDomain, path, 0, 0, "check", CheckBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(0, await client.WaitForExitAsync()); // every byte came back in order (exit 5 names the first wrong one)
        Assert.Equal($"check {CheckBytes}\n", System.Text.Encoding.ASCII.GetString(await client.ReadToEndAsync()));
        Assert.Equal(theirs, Orders(client.Errors));
        Assert.Equal(0, await server.WaitForExitAsync()); // the client closed: our server ends and removes its nodes
        await echo;
        Assert.Null(await xenstore.TryReadAsync($"{path}/{VchanServer.RingRefNode}"));
    }

    [Theory]
    [MemberData(nameof(RingSizes))]
    public async Task Ours_against_ours_in_two_processes_carries_10_MiB_each_way(int readMin, int writeMin)
    {
        await using XenstoredPeer xenstore = await VchanPair.StartXenstoreAsync();
        string path = VchanPair.Path(6003);
        using VchanProcess server = VchanProcess.Ours(xenstore, VchanPair.ServerDomain, "serve", "2",
            path, "--read-min", readMin.ToString(System.Globalization.CultureInfo.InvariantCulture), "--write-min", writeMin.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using VchanProcess client = VchanProcess.Ours(xenstore, VchanPair.ClientDomain, "connect", "1", path);

        byte[] toServer = VchanPair.RandomBytes(10 * 1024 * 1024, 3);
        byte[] toClient = VchanPair.RandomBytes(10 * 1024 * 1024, 4);
        (string atServer, string atClient) = await VchanPair.ExchangeAsync(server, client, toServer, toClient);
        Assert.Equal(VchanPair.Hash(toServer), atServer);
        Assert.Equal(VchanPair.Hash(toClient), atClient);

        server.CloseInput(); // this time the server closes first: the client reads to the end and exits
        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Equal(0, await client.WaitForExitAsync());
        Assert.Null(await xenstore.TryReadAsync($"{path}/{VchanServer.RingRefNode}"));
    }

    /// <summary>The orders a <c>vchan_peer</c> client reports: its read ring is the server's write ring and vice versa.</summary>
    private static (int ServerRead, int ServerWrite) Orders(string clientErrors)
    {
        Match m = OrdersLine().Match(clientErrors);
        Assert.True(m.Success, clientErrors);
        return (int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"client: read ring 2\^(\d+), write ring 2\^(\d+)")]
    private static partial Regex OrdersLine();
}
