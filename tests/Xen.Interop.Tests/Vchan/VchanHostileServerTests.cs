using System.Buffers.Binary;
using Xen.Interop.Tests.Host;
using Xen.Rings.Vchan;
using Xen.Store.Vchan;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Vchan;

/// <summary>
/// Our vchan client (<c>xen vchan connect</c>) against a server that breaks the protocol: Xen.HostProbe plays domain 1,
/// shares a page and a port through the shim as a server would, publishes them, and writes into the page what a broken
/// or hostile server could. Each time ours ends with status 1 and a message naming the fault, without a hang and
/// without touching memory outside the rings.
/// </summary>
[Trait("Category", "Interop")]
public sealed class VchanHostileServerTests
{
    public static TheoryData<int, int> BadOrders => new()
    {
        { 9, 11 },   // below the smallest ring
        { 10, 21 },  // above the largest
        { 10, 10 },  // both rings the same in-page buffer
        { 11, 11 },
        { 0, 0 },    // a page nobody initialized
        { 65535, 12 },
    };

    [Theory]
    [MemberData(nameof(BadOrders))]
    public async Task A_page_with_ring_orders_libxenvchan_refuses_is_refused_with_a_message(int leftOrder, int rightOrder)
    {
        await using XenstoredPeer xenstore = await VchanPair.StartXenstoreAsync();
        using HostProbe server = HostProbe.Start(xenstore, VchanPair.ServerDomain);
        string path = VchanPair.Path(7000);
        (string page, _) = await PublishAsync(xenstore, server, path, leftOrder, rightOrder);

        using VchanProcess client = VchanProcess.Ours(xenstore, VchanPair.ClientDomain, "connect", "1", path);
        Assert.Equal(1, await client.WaitForExitAsync());
        Assert.Contains($"ring orders {leftOrder} (left) and {rightOrder} (right)", client.Errors, StringComparison.Ordinal);

        // It mapped and unmapped the page: the unmap notification cleared cli_live; nothing else was written.
        string header = (await server.OkAsync($"peek {page} 0 24"))[0];
        Assert.Equal(Header(leftOrder, rightOrder, cliLive: 0), header);
    }

    public static TheoryData<string, int> BadIndices => new()
    {
        { "right.prod", VchanLayout.RightProdOffset }, // the ring ours reads claims more than its size
        { "left.cons", VchanLayout.LeftConsOffset },   // the ring ours writes claims the reader is ahead of the writer
    };

    [Theory]
    [MemberData(nameof(BadIndices))]
    public async Task Garbage_indices_after_connecting_end_the_session_with_a_corrupted_ring_message(string index, int offset)
    {
        await using XenstoredPeer xenstore = await VchanPair.StartXenstoreAsync();
        using HostProbe server = HostProbe.Start(xenstore, VchanPair.ServerDomain);
        string path = VchanPair.Path(7001);
        (string page, string port) = await PublishAsync(xenstore, server, path, VchanLayout.SmallRingOrder, VchanLayout.LargeRingOrder);

        using VchanProcess client = VchanProcess.Ours(xenstore, VchanPair.ClientDomain, "connect", "1", path);
        await Deadline.PollAsync(
            () => server.OkAsync($"peek {page} {VchanLayout.CliLiveOffset} 1").GetAwaiter().GetResult()[0] == "01",
            () => $"the client never set cli_live; {client.Errors}");

        await server.OkAsync($"poke {page} {offset} {Hex(0x7000_0000)}");
        await server.OkAsync($"notify {port}");
        await client.WriteAsync("x"u8.ToArray()); // so the writing side looks at the ring too
        Assert.Equal(1, await client.WaitForExitAsync());
        Assert.Contains("is corrupted", client.Errors, StringComparison.Ordinal);
        Assert.Contains(index.Split('.')[0], client.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nodes_that_do_not_hold_numbers_are_refused_with_a_message_naming_the_node()
    {
        await using XenstoredPeer xenstore = await VchanPair.StartXenstoreAsync();
        string path = VchanPair.Path(7002);
        await xenstore.WriteAsync(($"{path}/{VchanServer.RingRefNode}", "eight"), ($"{path}/{VchanServer.EventChannelNode}", "1"));

        using VchanProcess client = VchanProcess.Ours(xenstore, VchanPair.ClientDomain, "connect", "1", path);
        Assert.Equal(1, await client.WaitForExitAsync());
        Assert.Contains($"{path}/{VchanServer.RingRefNode} holds 'eight'", client.Errors, StringComparison.Ordinal);
    }

    /// <summary>Does what a server does with the shim's grants and ports, but writes the header it is given.</summary>
    private static async Task<(string Page, string Port)> PublishAsync(XenstoredPeer xenstore, HostProbe server, string path, int leftOrder, int rightOrder)
    {
        await server.OkAsync("open");
        string[] port = await server.OkAsync($"bind-unbound {VchanPair.ClientDomain}");
        string[] page = await server.OkAsync($"share-notify {VchanPair.ClientDomain} {VchanLayout.SrvLiveOffset} {port[0]}");
        await server.OkAsync($"poke {page[0]} 0 {Header(leftOrder, rightOrder, cliLive: 2)}");
        await xenstore.WriteAsync(($"{path}/{VchanServer.RingRefNode}", page[2]), ($"{path}/{VchanServer.EventChannelNode}", port[1]));
        return (page[0], port[0]);
    }

    /// <summary>The 24-byte header: zero indices, the orders, cli_live, srv_live 1, cli_notify WRITE, srv_notify 0.</summary>
    private static string Header(int leftOrder, int rightOrder, byte cliLive)
    {
        byte[] header = new byte[VchanLayout.GrantsOffset];
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(VchanLayout.LeftOrderOffset), (ushort)leftOrder);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(VchanLayout.RightOrderOffset), (ushort)rightOrder);
        header[VchanLayout.CliLiveOffset] = cliLive;
        header[VchanLayout.SrvLiveOffset] = 1;
        header[VchanLayout.CliNotifyOffset] = (byte)VchanNotify.Write;
        return Convert.ToHexString(header);
    }

    private static string Hex(uint value)
    {
        byte[] bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return Convert.ToHexString(bytes);
    }
}
