using System.Buffers.Binary;
using Xen.Rings.Vchan;

namespace Xen.Rings.Tests.Vchan;

public class VchanInterfaceTests
{
    [Theory]
    [InlineData(10, 11)]
    [InlineData(11, 10)]
    [InlineData(12, 20)]
    [InlineData(20, 20)]
    public void InitializeServer_writes_the_header_init_gnt_srv_writes(int left, int right)
    {
        byte[] page = new byte[VchanLayout.PageSize];
        page.AsSpan().Fill(0xA5);
        new VchanInterface(page, VchanRole.Server).InitializeServer(left, right);

        byte[] header = new byte[VchanLayout.GrantsOffset]; // indices 0; orders; cli_live 2, srv_live 1; cli_notify WRITE
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(16), (ushort)left);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(18), (ushort)right);
        header[20] = 2;
        header[21] = 1;
        header[22] = 1;
        header[23] = 0;
        Assert.Equal(header, page[..VchanLayout.GrantsOffset]);
    }

    [Fact]
    public void InitializeServer_leaves_the_grant_list_to_the_caller()
    {
        byte[] page = new byte[VchanLayout.PageSize];
        page.AsSpan().Fill(0xA5);
        new VchanInterface(page, VchanRole.Server).InitializeServer(12, 13);
        Assert.All(page[VchanLayout.GrantsOffset..], b => Assert.Equal(0xA5, b));
    }

    [Fact]
    public void Both_views_read_the_header_the_server_wrote_each_from_its_own_side()
    {
        byte[] page = new byte[VchanLayout.PageSize];
        var server = new VchanInterface(page, VchanRole.Server);
        var client = new VchanInterface(page, VchanRole.Client);
        server.InitializeServer(12, 17);

        Assert.Equal((12, 17), (client.LeftOrder, client.RightOrder));
        Assert.Equal((12, 17), (server.ReadOrder, server.WriteOrder)); // the server reads left, writes right
        Assert.Equal((17, 12), (client.ReadOrder, client.WriteOrder)); // the client reads right, writes left
        Assert.Equal(VchanLiveState.NotYetConnected, client.ClientLive);
        Assert.Equal(VchanLiveState.Connected, client.ServerLive);
    }

    [Fact]
    public void Only_the_server_initializes_the_page()
    {
        byte[] page = new byte[VchanLayout.PageSize];
        Assert.Throws<InvalidOperationException>(() => new VchanInterface(page, VchanRole.Client).InitializeServer(10, 11));
        Assert.All(page, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(9, 11)]
    [InlineData(10, 10)]
    [InlineData(11, 11)]
    [InlineData(12, 21)]
    public void InitializeServer_refuses_orders_a_client_would_refuse_and_writes_nothing(int left, int right)
    {
        byte[] page = new byte[VchanLayout.PageSize];
        Assert.Throws<ArgumentOutOfRangeException>(() => new VchanInterface(page, VchanRole.Server).InitializeServer(left, right));
        Assert.All(page, b => Assert.Equal(0, b));
    }

    [Fact]
    public void A_page_smaller_than_4096_bytes_is_refused() =>
        Assert.Throws<ArgumentException>(() => new VchanInterface(new byte[VchanLayout.PageSize - 1], VchanRole.Client));

    [Fact]
    public void MarkClientConnected_sets_cli_live_1_and_asks_the_server_to_be_woken_on_the_first_write()
    {
        byte[] page = new byte[VchanLayout.PageSize];
        new VchanInterface(page, VchanRole.Server).InitializeServer(10, 11);
        new VchanInterface(page, VchanRole.Client).MarkClientConnected();
        Assert.Equal((byte)VchanLiveState.Connected, page[VchanLayout.CliLiveOffset]);
        Assert.Equal((byte)VchanNotify.Write, page[VchanLayout.SrvNotifyOffset]);
        Assert.Equal((byte)VchanLiveState.Connected, page[VchanLayout.SrvLiveOffset]);
        Assert.Equal((byte)VchanNotify.Write, page[VchanLayout.CliNotifyOffset]);
    }

    [Fact]
    public void Only_the_client_marks_itself_connected()
    {
        byte[] page = new byte[VchanLayout.PageSize];
        new VchanInterface(page, VchanRole.Server).InitializeServer(10, 11);
        Assert.Throws<InvalidOperationException>(() => new VchanInterface(page, VchanRole.Server).MarkClientConnected());
        Assert.Equal((byte)VchanLiveState.NotYetConnected, page[VchanLayout.CliLiveOffset]);
    }

    [Theory]
    [InlineData(VchanRole.Server, VchanLayout.SrvLiveOffset, VchanLayout.CliLiveOffset)]
    [InlineData(VchanRole.Client, VchanLayout.CliLiveOffset, VchanLayout.SrvLiveOffset)]
    public void MarkClosed_clears_only_this_ends_live_byte(VchanRole role, int own, int peer)
    {
        byte[] page = new byte[VchanLayout.PageSize];
        page[own] = 1;
        page[peer] = 1;
        new VchanInterface(page, role).MarkClosed();
        Assert.Equal(0, page[own]);
        Assert.Equal(1, page[peer]);
    }

    [Theory]
    [InlineData(VchanRole.Server, VchanLayout.CliNotifyOffset, VchanLayout.SrvNotifyOffset)]
    [InlineData(VchanRole.Client, VchanLayout.SrvNotifyOffset, VchanLayout.CliNotifyOffset)]
    public void RequestNotify_sets_the_bit_in_the_byte_the_peer_reads_and_keeps_the_other_bits(VchanRole role, int peersByte, int ownByte)
    {
        byte[] page = new byte[VchanLayout.PageSize];
        page[peersByte] = 0x81; // WRITE and a bit no libxenvchan defines
        page[ownByte] = 0x40;
        new VchanInterface(page, role).RequestNotify(VchanNotify.Read);
        Assert.Equal(0x83, page[peersByte]);
        Assert.Equal(0x40, page[ownByte]);

        new VchanInterface(page, role).RequestNotify(VchanNotify.Read);
        Assert.Equal(0x83, page[peersByte]);
    }

    [Theory]
    [InlineData(VchanRole.Server, VchanLayout.SrvNotifyOffset, VchanLayout.CliNotifyOffset)]
    [InlineData(VchanRole.Client, VchanLayout.CliNotifyOffset, VchanLayout.SrvNotifyOffset)]
    public void TakeNotifyRequest_clears_only_the_given_bit_of_this_ends_byte_and_says_whether_it_was_set(VchanRole role, int ownByte, int peersByte)
    {
        byte[] page = new byte[VchanLayout.PageSize];
        page[ownByte] = 0x83;
        page[peersByte] = 0x03;
        var view = new VchanInterface(page, role);

        Assert.True(view.TakeNotifyRequest(VchanNotify.Read));
        Assert.Equal(0x81, page[ownByte]);
        Assert.False(view.TakeNotifyRequest(VchanNotify.Read));
        Assert.Equal(0x81, page[ownByte]);
        Assert.True(view.TakeNotifyRequest(VchanNotify.Write));
        Assert.Equal(0x80, page[ownByte]);
        Assert.Equal(0x03, page[peersByte]);
    }

    [Theory]
    [InlineData(VchanRole.Server, VchanRole.Client)]
    [InlineData(VchanRole.Client, VchanRole.Server)]
    public void A_request_from_one_end_is_taken_by_the_other_end_once(VchanRole asker, VchanRole taker)
    {
        byte[] page = new byte[VchanLayout.PageSize];
        new VchanInterface(page, asker).RequestNotify(VchanNotify.Write);
        Assert.False(new VchanInterface(page, asker).TakeNotifyRequest(VchanNotify.Write)); // not its own request
        Assert.False(new VchanInterface(page, taker).TakeNotifyRequest(VchanNotify.Read));
        Assert.True(new VchanInterface(page, taker).TakeNotifyRequest(VchanNotify.Write));
        Assert.False(new VchanInterface(page, taker).TakeNotifyRequest(VchanNotify.Write));
    }

    [Fact]
    public void A_request_and_a_take_of_another_bit_racing_on_the_same_byte_both_take_effect()
    {
        // The server asks for READ in cli_notify while the client clears WRITE in it: with a plain read-modify-write
        // one of the two would be lost now and then.
        byte[] page = new byte[VchanLayout.PageSize];
        const int rounds = 20_000;
        using var barrier = new Barrier(2);
        int lost = 0;
        Thread client = new(() =>
        {
            for (int i = 0; i < rounds; i++)
            {
                barrier.SignalAndWait();
                if (!new VchanInterface(page, VchanRole.Client).TakeNotifyRequest(VchanNotify.Write))
                {
                    Interlocked.Increment(ref lost);
                }

                barrier.SignalAndWait();
            }
        });
        client.Start();
        for (int i = 0; i < rounds; i++)
        {
            page[VchanLayout.CliNotifyOffset] = (byte)VchanNotify.Write;
            barrier.SignalAndWait();
            new VchanInterface(page, VchanRole.Server).RequestNotify(VchanNotify.Read);
            barrier.SignalAndWait();
            if (page[VchanLayout.CliNotifyOffset] != (byte)VchanNotify.Read)
            {
                lost++;
            }
        }

        client.Join();
        Assert.Equal(0, lost);
    }

    [Theory]
    [InlineData(VchanRole.Server, 0, false)]
    [InlineData(VchanRole.Server, 1, true)]
    [InlineData(VchanRole.Server, 2, true)]
    [InlineData(VchanRole.Server, 7, true)]
    [InlineData(VchanRole.Client, 0, false)]
    [InlineData(VchanRole.Client, 1, true)]
    [InlineData(VchanRole.Client, 7, true)]
    public void IsPeerOpen_is_whether_the_peers_live_byte_is_not_0_as_libxenvchan_is_open_says(VchanRole role, byte peerLive, bool open)
    {
        byte[] page = new byte[VchanLayout.PageSize];
        page[role == VchanRole.Server ? VchanLayout.CliLiveOffset : VchanLayout.SrvLiveOffset] = peerLive;
        page[role == VchanRole.Server ? VchanLayout.SrvLiveOffset : VchanLayout.CliLiveOffset] = 0; // its own byte does not count
        Assert.Equal(open, new VchanInterface(page, role).IsPeerOpen);
    }

    [Fact]
    public void Grants_are_the_little_endian_words_from_offset_24_to_the_end_of_the_page()
    {
        byte[] page = new byte[VchanLayout.PageSize];
        Span<uint> grants = new VchanInterface(page, VchanRole.Server).Grants;
        Assert.Equal(VchanLayout.MaxGrants, grants.Length);
        grants[0] = 0x11223344;
        grants[^1] = 0xAABBCCDD;
        Assert.Equal(0x11223344u, BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(VchanLayout.GrantsOffset)));
        Assert.Equal(0xAABBCCDDu, BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(VchanLayout.PageSize - 4)));
        Assert.All(page[..VchanLayout.GrantsOffset], b => Assert.Equal(0, b));
    }
}
