using Xen.Rings.Vchan;

namespace Xen.Rings.Tests.Vchan;

/// <summary>libxenvchan's notify rules (io.c: request_notify, send_notify), seen from the events each end sends.</summary>
public class VchanNotifyRuleTests
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);

    [Fact]
    public void The_first_write_of_each_end_wakes_the_peer_that_asked_at_setup()
    {
        // init_gnt_srv sets cli_notify = WRITE; the client sets srv_notify = WRITE when it connects.
        using var h = VchanHarness.Connected(10, 11);
        int client = h.ClientEvents.Notifications;
        int server = h.ServerEvents.Notifications;

        h.Client.TryWrite("a"u8);
        h.Server.TryWrite("b"u8);
        Assert.Equal(client + 1, h.ClientEvents.Notifications);
        Assert.Equal(server + 1, h.ServerEvents.Notifications);
        Assert.Equal(VchanNotify.None, h.CliNotify);
        Assert.Equal(VchanNotify.None, h.SrvNotify);
    }

    [Theory]
    [InlineData(10, 11)]
    [InlineData(12, 12)]
    public void Ends_whose_reads_always_find_data_send_no_events(int left, int right)
    {
        using var h = VchanHarness.Connected(left, right);
        byte[] buffer = new byte[1000];
        h.Client.TryWrite("a"u8); // the writes the peers asked for at setup
        h.Server.TryWrite("b"u8);
        int client = h.ClientEvents.Notifications;
        int server = h.ServerEvents.Notifications;

        for (int i = 0; i < 2000; i++)
        {
            int size = 1 + (i * 37 % 700);
            Assert.Equal(size, h.Client.TryWrite(buffer.AsSpan(0, size)));
            Assert.Equal(size + (i == 0 ? 1 : 0), h.Server.TryRead(buffer));
            Assert.Equal(size, h.Server.TryWrite(buffer.AsSpan(0, size)));
            Assert.Equal(size + (i == 0 ? 1 : 0), h.Client.TryRead(buffer));
        }

        Assert.Equal(client, h.ClientEvents.Notifications);
        Assert.Equal(server, h.ServerEvents.Notifications);
    }

    [Fact]
    public void A_read_that_finds_the_ring_empty_asks_for_WRITE_and_the_next_write_alone_sends_an_event()
    {
        using var h = VchanHarness.Connected(10, 11);
        h.Client.TryWrite("a"u8);
        h.Server.TryRead(new byte[8]);
        Assert.Equal(VchanNotify.None, h.CliNotify);

        Assert.Equal(0, h.Server.TryRead(new byte[8]));
        Assert.Equal(VchanNotify.Write, h.CliNotify);

        int before = h.ClientEvents.Notifications;
        h.Client.TryWrite("b"u8);
        Assert.Equal(before + 1, h.ClientEvents.Notifications);
        Assert.Equal(VchanNotify.None, h.CliNotify);
        h.Client.TryWrite("c"u8);
        Assert.Equal(before + 1, h.ClientEvents.Notifications);
    }

    [Fact]
    public void A_write_that_finds_the_ring_full_asks_for_READ_and_the_next_read_alone_sends_an_event()
    {
        using var h = VchanHarness.Connected(10, 11);
        h.Server.TryWrite(new byte[2047]);
        h.CliNotify = VchanNotify.None;
        Assert.Equal(1, h.Server.TryWrite(new byte[2])); // fills the ring part-way through: no request yet
        Assert.Equal(VchanNotify.None, h.CliNotify);

        Assert.Equal(0, h.Server.TryWrite(new byte[1]));
        Assert.Equal(VchanNotify.Read, h.CliNotify);

        int before = h.ClientEvents.Notifications;
        h.Client.TryRead(new byte[10]);
        Assert.Equal(before + 1, h.ClientEvents.Notifications);
        Assert.Equal(VchanNotify.None, h.CliNotify);
        h.Client.TryRead(new byte[10]);
        Assert.Equal(before + 1, h.ClientEvents.Notifications);
    }

    [Fact]
    public void A_partial_write_does_not_ask_the_reader_for_an_event()
    {
        using var h = VchanHarness.Connected(10, 11);
        h.Client.TryWrite("a"u8);
        h.CliNotify = VchanNotify.None;
        h.SrvNotify = VchanNotify.None;
        Assert.Equal(1023, h.Client.TryWrite(new byte[2000]));
        Assert.Equal(VchanNotify.None, h.SrvNotify);
    }

    [Fact]
    public void DataReady_asks_the_writer_for_WRITE_and_BufferSpace_asks_the_reader_for_READ()
    {
        // libxenvchan_data_ready and libxenvchan_buffer_space request a notification, whatever they return.
        using var h = VchanHarness.Connected(10, 11);
        h.CliNotify = VchanNotify.None;
        h.SrvNotify = VchanNotify.None;
        h.Client.TryWrite("abc"u8);

        Assert.Equal(3, h.Server.DataReady);
        Assert.Equal(VchanNotify.Write, h.CliNotify);
        Assert.Equal(2048, h.Server.BufferSpace);
        Assert.Equal(VchanNotify.Write | VchanNotify.Read, h.CliNotify);

        Assert.Equal(0, h.Client.DataReady);
        Assert.Equal(1021, h.Client.BufferSpace);
        Assert.Equal(VchanNotify.Write | VchanNotify.Read, h.SrvNotify);
    }

    [Fact]
    public async Task A_reader_waiting_on_an_empty_ring_is_woken_by_the_peers_write_each_time()
    {
        using var h = VchanHarness.Connected(10, 11);
        byte[] buffer = new byte[16];
        for (int i = 0; i < 200; i++)
        {
            ValueTask<int> read = h.Client.ReadAsync(buffer);
            Assert.False(read.IsCompleted);
            int before = h.ServerEvents.Notifications;
            h.Server.TryWrite([(byte)i]);
            Assert.Equal(before + 1, h.ServerEvents.Notifications);
            Assert.Equal(1, await read.AsTask().WaitAsync(Hang));
            Assert.Equal((byte)i, buffer[0]);
        }
    }

    [Fact]
    public async Task A_writer_waiting_on_a_full_ring_is_woken_by_the_peers_read()
    {
        using var h = VchanHarness.Connected(12, 12);
        byte[] data = VchanStreamTests.Pattern(4096 + 10, 4);
        Task write = h.Server.WriteAsync(data).AsTask();
        Assert.False(write.IsCompleted);
        Assert.Equal(VchanNotify.Read, h.CliNotify & VchanNotify.Read);

        byte[] first = new byte[100];
        int before = h.ClientEvents.Notifications;
        Assert.Equal(100, h.Client.TryRead(first));
        Assert.Equal(before + 1, h.ClientEvents.Notifications);
        await write.WaitAsync(Hang);

        byte[] rest = new byte[data.Length - 100];
        Assert.Equal(rest.Length, h.Client.TryRead(rest));
        Assert.Equal(data, first.Concat(rest).ToArray());
    }
}
