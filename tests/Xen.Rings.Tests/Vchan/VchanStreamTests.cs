using System.Security.Cryptography;
using Xen.Rings.Vchan;

namespace Xen.Rings.Tests.Vchan;

public class VchanStreamTests
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(60); // a guard against a hang, not a measurement

    public static TheoryData<int, int> OrderPairs => new()
    {
        { 10, 11 },
        { 11, 10 },
        { 12, 13 },
        { 16, 17 },
        { 10, 12 },
        { 20, 11 },
    };

    [Theory]
    [MemberData(nameof(OrderPairs))]
    public void Bytes_written_by_each_end_are_read_by_the_other(int left, int right)
    {
        using var h = VchanHarness.Connected(left, right);
        Assert.Equal(5, h.Client.TryWrite("hello"u8));
        Assert.Equal(3, h.Server.TryWrite("abc"u8));

        byte[] buffer = new byte[16];
        Assert.Equal(5, h.Server.TryRead(buffer));
        Assert.Equal("hello"u8.ToArray(), buffer[..5]);
        Assert.Equal(3, h.Client.TryRead(buffer));
        Assert.Equal("abc"u8.ToArray(), buffer[..3]);
    }

    [Theory]
    [MemberData(nameof(OrderPairs))]
    public void Each_end_reads_the_ring_of_its_role_and_writes_the_other(int left, int right)
    {
        using var h = VchanHarness.Connected(left, right);
        Assert.Equal((VchanRole.Server, VchanRole.Client), (h.Server.Role, h.Client.Role));
        Assert.Equal((1 << left, 1 << right), (h.Server.ReadRingSize, h.Server.WriteRingSize));
        Assert.Equal((1 << right, 1 << left), (h.Client.ReadRingSize, h.Client.WriteRingSize));
    }

    [Theory]
    [MemberData(nameof(OrderPairs))]
    public void The_client_writes_the_left_ring_and_the_server_the_right_one_in_the_memory_their_orders_place_them(int left, int right)
    {
        using var h = VchanHarness.Connected(left, right);
        byte[] before = (byte[])h.Page.Clone();
        h.Client.TryWrite("left"u8);
        h.Server.TryWrite("right"u8);

        Assert.Equal("left"u8.ToArray(), h.LeftBuffer[..4].ToArray());
        Assert.Equal("right"u8.ToArray(), h.RightBuffer[..5].ToArray());
        Assert.Equal(4u, h.Index(VchanLayout.LeftProdOffset));
        Assert.Equal(5u, h.Index(VchanLayout.RightProdOffset));

        // Beyond the indices, the notify bytes (each write took the peer's request from setup) and the in-page rings
        // these orders use, the page is as it was.
        int[] changed = Enumerable.Range(VchanLayout.LeftOrderOffset, VchanLayout.PageSize - VchanLayout.LeftOrderOffset)
            .Where(i => h.Page[i] != before[i] && i is not (VchanLayout.CliNotifyOffset or VchanLayout.SrvNotifyOffset))
            .Where(i => !InPageRingHolds(left, i) && !InPageRingHolds(right, i))
            .ToArray();
        Assert.Empty(changed);
    }

    [Fact]
    public void An_order_10_ring_is_at_offset_1024_of_the_page_and_an_order_11_ring_at_2048()
    {
        using var h = VchanHarness.Connected(10, 11);
        h.Client.TryWrite("L"u8);
        h.Server.TryWrite("R"u8);
        Assert.Equal((byte)'L', h.Page[1024]);
        Assert.Equal((byte)'R', h.Page[2048]);

        using var swapped = VchanHarness.Connected(11, 10);
        swapped.Client.TryWrite("L"u8);
        swapped.Server.TryWrite("R"u8);
        Assert.Equal((byte)'L', swapped.Page[2048]);
        Assert.Equal((byte)'R', swapped.Page[1024]);
    }

    [Fact]
    public void Rings_with_pages_of_their_own_leave_the_in_page_ring_areas_alone()
    {
        using var h = VchanHarness.Connected(12, 13);
        h.Client.TryWrite(Enumerable.Repeat((byte)0x11, 3000).ToArray());
        h.Server.TryWrite(Enumerable.Repeat((byte)0x22, 5000).ToArray());
        Assert.All(h.Page[VchanLayout.SmallRingOffset..], b => Assert.Equal(0, b));
        Assert.All(h.LeftRing[..3000], b => Assert.Equal(0x11, b));
        Assert.All(h.RightRing[..5000], b => Assert.Equal(0x22, b));
    }

    [Theory]
    [InlineData(10, 11)]
    [InlineData(13, 12)]
    public void TryWrite_writes_what_fits_and_returns_0_on_a_full_ring(int left, int right)
    {
        using var h = VchanHarness.Connected(left, right);
        int size = 1 << left;
        byte[] data = Pattern(size + 100, 3);
        Assert.Equal(size, h.Client.TryWrite(data));
        Assert.Equal(0, h.Client.TryWrite(data.AsSpan(size)));
        Assert.Equal(0, h.Client.BufferSpace);

        byte[] read = new byte[size + 100];
        Assert.Equal(size, h.Server.TryRead(read));
        Assert.Equal(data[..size], read[..size]);
    }

    [Fact]
    public void TryRead_returns_0_on_an_empty_ring_and_for_an_empty_buffer()
    {
        using var h = VchanHarness.Connected(10, 11);
        Assert.Equal(0, h.Server.TryRead(new byte[10]));
        h.Client.TryWrite("x"u8);
        Assert.Equal(0, h.Server.TryRead([]));
        Assert.Equal(0, h.Client.TryWrite([]));
        Assert.Equal(1, h.Server.DataReady);
    }

    [Fact]
    public void DataReady_and_BufferSpace_count_the_bytes_in_each_ring()
    {
        using var h = VchanHarness.Connected(10, 11);
        h.Client.TryWrite(new byte[100]);
        h.Server.TryWrite(new byte[300]);
        Assert.Equal(100, h.Server.DataReady);
        Assert.Equal(1024 - 100, h.Client.BufferSpace);
        Assert.Equal(300, h.Client.DataReady);
        Assert.Equal(2048 - 300, h.Server.BufferSpace);

        h.Server.TryRead(new byte[40]);
        Assert.Equal(60, h.Server.DataReady);
        Assert.Equal(1024 - 60, h.Client.BufferSpace);
    }

    [Fact]
    public async Task ReadAsync_waits_on_an_empty_ring_and_completes_when_the_peer_writes()
    {
        using var h = VchanHarness.Shared(10, 11);
        h.OpenServer();
        h.OpenClient(wakeServer: false); // the write is the only event the server gets
        byte[] buffer = new byte[64];
        ValueTask<int> read = h.Server.ReadAsync(buffer);
        Assert.False(read.IsCompleted);

        Assert.Equal(4, h.Client.TryWrite("ping"u8));
        Assert.Equal(4, await read.AsTask().WaitAsync(Hang));
        Assert.Equal("ping"u8.ToArray(), buffer[..4]);
    }

    [Fact]
    public async Task ReadAsync_returns_what_is_there_at_once_without_waiting_for_the_buffer_to_fill()
    {
        using var h = VchanHarness.Connected(12, 13);
        h.Server.TryWrite("abc"u8);
        ValueTask<int> read = h.Client.ReadAsync(new byte[4096]);
        Assert.True(read.IsCompletedSuccessfully);
        Assert.Equal(3, await read);
    }

    [Fact]
    public async Task A_cancelled_ReadAsync_consumes_nothing()
    {
        using var h = VchanHarness.Connected(10, 11);
        using var cts = new CancellationTokenSource();
        ValueTask<int> read = h.Client.ReadAsync(new byte[8], cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.AsTask().WaitAsync(Hang));

        h.Server.TryWrite("kept"u8);
        byte[] buffer = new byte[8];
        Assert.Equal(4, await h.Client.ReadAsync(buffer).AsTask().WaitAsync(Hang));
        Assert.Equal("kept"u8.ToArray(), buffer[..4]);
    }

    [Fact]
    public async Task WriteAsync_of_more_than_the_ring_waits_for_the_reader_and_completes_once_it_has_read_enough()
    {
        using var h = VchanHarness.Connected(10, 11);
        byte[] data = Pattern(5000, 7);
        Task write = h.Client.WriteAsync(data).AsTask();
        Assert.False(write.IsCompleted); // 1024 bytes in the ring, the rest waiting
        Assert.Equal(1024, h.Server.DataReady);

        byte[] received = new byte[data.Length];
        await h.Server.ReadExactlyAsync(received).AsTask().WaitAsync(Hang);
        await write.WaitAsync(Hang);
        Assert.Equal(data, received);
    }

    [Fact]
    public async Task A_cancelled_WriteAsync_leaves_what_it_wrote_in_the_ring()
    {
        using var h = VchanHarness.Connected(10, 11);
        using var cts = new CancellationTokenSource();
        byte[] data = Pattern(1500, 8);
        ValueTask write = h.Client.WriteAsync(data, cts.Token);
        Assert.False(write.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => write.AsTask().WaitAsync(Hang));

        byte[] received = new byte[2048];
        Assert.Equal(1024, h.Server.TryRead(received));
        Assert.Equal(data[..1024], received[..1024]);
        Assert.Equal(0, h.Server.TryRead(received));
    }

    [Theory]
    [MemberData(nameof(OrderPairs))]
    [InlineData(20, 20)]
    public async Task Megabytes_flow_both_ways_at_once_complete_and_in_order(int left, int right)
    {
        using var h = VchanHarness.Connected(left, right);
        byte[] up = Pattern(3 << 20, 1);
        byte[] down = Pattern((2 << 20) + 12345, 2);

        Task<byte[]> serverReads = HashOfEverythingRead(h.Server, up.Length);
        Task<byte[]> clientReads = HashOfEverythingRead(h.Client, down.Length);
        Task clientWrites = WriteInChunks(h.Client, up);
        Task serverWrites = WriteInChunks(h.Server, down);
        await Task.WhenAll(serverReads, clientReads, clientWrites, serverWrites).WaitAsync(Hang);

        Assert.Equal(SHA256.HashData(up), await serverReads);
        Assert.Equal(SHA256.HashData(down), await clientReads);
        Assert.Equal(0, h.Server.DataReady);
        Assert.Equal(0, h.Client.DataReady);
    }

    [Fact]
    public async Task The_blocking_Read_and_Write_carry_more_than_the_ring_holds()
    {
        using var h = VchanHarness.Connected(11, 10);
        byte[] data = Pattern(200_000, 9);
        Task writer = Task.Factory.StartNew(() => h.Server.Write(data), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Task<byte[]> reader = Task.Factory.StartNew(
            () =>
            {
                byte[] received = new byte[data.Length];
                h.Client.ReadExactly(received);
                return received;
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        await Task.WhenAll(writer, reader).WaitAsync(Hang);
        Assert.Equal(data, await reader);
    }

    [Fact]
    public void The_stream_cannot_seek_and_Flush_does_nothing()
    {
        using var h = VchanHarness.Connected(10, 11);
        Assert.False(h.Server.CanSeek);
        Assert.True(h.Server.CanRead);
        Assert.True(h.Server.CanWrite);
        Assert.Throws<NotSupportedException>(() => h.Server.Length);
        Assert.Throws<NotSupportedException>(() => h.Server.Position);
        Assert.Throws<NotSupportedException>(() => h.Server.Seek(0, SeekOrigin.Begin));
        Assert.Throws<NotSupportedException>(() => h.Server.SetLength(0));
        h.Client.TryWrite("x"u8);
        h.Client.Flush();
        Assert.Equal(1, h.Server.DataReady);
    }

    internal static byte[] Pattern(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static bool InPageRingHolds(int order, int offset) =>
        VchanLayout.InPageOffset(order) is int start and >= 0 && offset >= start && offset < start + (1 << order);

    private static async Task<byte[]> HashOfEverythingRead(VchanStream stream, int length)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[7919]; // not a power of two: reads straddle the ring's wrap
        int total = 0;
        while (total < length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, length - total)));
            Assert.NotEqual(0, n);
            hash.AppendData(buffer, 0, n);
            total += n;
        }

        return hash.GetHashAndReset();
    }

    private static async Task WriteInChunks(VchanStream stream, byte[] data)
    {
        var random = new Random(data.Length);
        for (int at = 0; at < data.Length;)
        {
            int n = Math.Min(data.Length - at, random.Next(1, 300_000));
            await stream.WriteAsync(data.AsMemory(at, n));
            at += n;
        }
    }
}
