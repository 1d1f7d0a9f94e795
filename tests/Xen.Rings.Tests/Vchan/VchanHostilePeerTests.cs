using System.Buffers.Binary;
using Xen.Rings.Vchan;

namespace Xen.Rings.Tests.Vchan;

/// <summary>A peer that writes into the shared page what no correct peer writes.</summary>
public class VchanHostilePeerTests
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);

    /// <summary>Which end reads, the orders, and how far the hostile prod is ahead of cons.</summary>
    public static TheoryData<VchanRole, int, int, uint> CorruptReads => new()
    {
        { VchanRole.Server, 10, 11, 1025 },
        { VchanRole.Client, 10, 11, 2049 },
        { VchanRole.Server, 13, 12, 8193 },
        { VchanRole.Client, 13, 12, 4097 },
        { VchanRole.Server, 10, 11, uint.MaxValue }, // prod one behind cons
        { VchanRole.Client, 16, 16, 0x8000_0000 },
    };

    [Theory]
    [MemberData(nameof(CorruptReads))]
    public async Task A_prod_more_than_the_ring_ahead_of_cons_fails_the_read_and_consumes_nothing(VchanRole reader, int left, int right, uint distance)
    {
        using var h = VchanHarness.Connected(left, right);
        VchanStream stream = reader == VchanRole.Server ? h.Server : h.Client;
        (int consOffset, int prodOffset) = reader == VchanRole.Server
            ? (VchanLayout.LeftConsOffset, VchanLayout.LeftProdOffset)
            : (VchanLayout.RightConsOffset, VchanLayout.RightProdOffset);
        const uint cons = 0xFFFF_FF00;
        h.SetIndex(consOffset, cons);
        h.SetIndex(prodOffset, unchecked(cons + distance));
        byte[] pageBefore = (byte[])h.Page.Clone();
        byte[] buffer = Enumerable.Repeat((byte)0xEE, 64).ToArray();

        Assert.Throws<RingCorruptedException>(() => stream.TryRead(buffer));
        Assert.Equal(pageBefore, h.Page); // not even a notify request

        Assert.Throws<RingCorruptedException>(() => stream.DataReady);
        await Assert.ThrowsAsync<RingCorruptedException>(() => stream.ReadAsync(buffer).AsTask().WaitAsync(Hang));
        Assert.Throws<RingCorruptedException>(() => stream.Read(buffer));

        Assert.Equal(cons, h.Index(consOffset));
        Assert.Equal(unchecked(cons + distance), h.Index(prodOffset));
        Assert.All(buffer, b => Assert.Equal(0xEE, b));
    }

    /// <summary>Which end writes, the orders, and how far the hostile cons is behind prod.</summary>
    public static TheoryData<VchanRole, int, int, uint> CorruptWrites => new()
    {
        { VchanRole.Server, 10, 11, 2049 },
        { VchanRole.Client, 10, 11, 1025 },
        { VchanRole.Server, 13, 12, 4097 },
        { VchanRole.Client, 13, 12, 8193 },
        { VchanRole.Client, 10, 11, uint.MaxValue }, // cons one ahead of prod
        { VchanRole.Server, 16, 16, 0x8000_0000 },
    };

    [Theory]
    [MemberData(nameof(CorruptWrites))]
    public async Task A_cons_more_than_the_ring_behind_prod_fails_the_write_and_writes_nothing(VchanRole writer, int left, int right, uint distance)
    {
        using var h = VchanHarness.Connected(left, right);
        VchanStream stream = writer == VchanRole.Server ? h.Server : h.Client;
        (int consOffset, int prodOffset, Memory<byte> ring) = writer == VchanRole.Server
            ? (VchanLayout.RightConsOffset, VchanLayout.RightProdOffset, h.RightBuffer)
            : (VchanLayout.LeftConsOffset, VchanLayout.LeftProdOffset, h.LeftBuffer);
        const uint prod = 0x0000_0010;
        h.SetIndex(prodOffset, prod);
        h.SetIndex(consOffset, unchecked(prod - distance));
        byte[] ringBefore = ring.ToArray();
        byte[] pageBefore = (byte[])h.Page.Clone();

        Assert.Throws<RingCorruptedException>(() => stream.TryWrite("data"u8));
        Assert.Equal(pageBefore, h.Page);
        Assert.Throws<RingCorruptedException>(() => stream.BufferSpace);
        await Assert.ThrowsAsync<RingCorruptedException>(() => stream.WriteAsync("data"u8.ToArray()).AsTask().WaitAsync(Hang));

        Assert.Equal(prod, h.Index(prodOffset));
        Assert.Equal(ringBefore, ring.ToArray());
    }

    [Theory]
    [InlineData(9, 11)]
    [InlineData(11, 9)]
    [InlineData(10, 10)]
    [InlineData(11, 11)]
    [InlineData(21, 12)]
    [InlineData(12, 21)]
    [InlineData(0, 0)]
    [InlineData(0xFFFF, 12)]
    [InlineData(0x010A, 11)] // 266: 10 in its low byte
    public void Orders_a_client_would_refuse_fail_Create_for_either_end(int left, int right)
    {
        using var h = VchanHarness.Shared(10, 11);
        BinaryPrimitives.WriteUInt16LittleEndian(h.Page.AsSpan(VchanLayout.LeftOrderOffset), (ushort)left);
        BinaryPrimitives.WriteUInt16LittleEndian(h.Page.AsSpan(VchanLayout.RightOrderOffset), (ushort)right);
        Memory<byte> leftRing = left is >= 12 and <= 20 ? new byte[1 << left] : Memory<byte>.Empty;
        Memory<byte> rightRing = right is >= 12 and <= 20 ? new byte[1 << right] : Memory<byte>.Empty;

        Assert.Throws<RingCorruptedException>(() => VchanStream.Create(VchanRole.Client, h.Page, leftRing, rightRing, h.ClientEvents));
        Assert.Throws<RingCorruptedException>(() => VchanStream.Create(VchanRole.Server, h.Page, leftRing, rightRing, h.ServerEvents));
    }

    [Theory]
    [InlineData(20, 20)]
    [InlineData(11, 10)]
    [InlineData(10, 10)]
    [InlineData(0, 0)]
    public void Orders_rewritten_after_Create_change_neither_ring(int left, int right)
    {
        using var h = VchanHarness.Connected(10, 11);
        BinaryPrimitives.WriteUInt16LittleEndian(h.Page.AsSpan(VchanLayout.LeftOrderOffset), (ushort)left);
        BinaryPrimitives.WriteUInt16LittleEndian(h.Page.AsSpan(VchanLayout.RightOrderOffset), (ushort)right);

        Assert.Equal((1024, 2048), (h.Client.WriteRingSize, h.Client.ReadRingSize));
        Assert.Equal((1024, 2048), (h.Server.ReadRingSize, h.Server.WriteRingSize));
        byte[] up = VchanStreamTests.Pattern(3000, 5);
        byte[] down = VchanStreamTests.Pattern(3000, 6);
        Assert.Equal(1024, h.Client.TryWrite(up));
        Assert.Equal(2048, h.Server.TryWrite(down));
        Assert.Equal(up[..1024], h.Page[1024..2048]);
        Assert.Equal(down[..2048], h.Page[2048..4096]);

        byte[] buffer = new byte[4096];
        Assert.Equal(1024, h.Server.TryRead(buffer));
        Assert.Equal(up[..1024], buffer[..1024]);
        Assert.Equal(2048, h.Client.TryRead(buffer));
        Assert.Equal(down[..2048], buffer[..2048]);
    }

    /// <summary>Orders in the page, and the lengths of the memory given for the left and right rings (-1: empty).</summary>
    public static TheoryData<int, int, int, int> MismatchedRings => new()
    {
        { 12, 13, 8192, 8192 },
        { 12, 13, 4096, 4096 },
        { 12, 13, -1, 8192 },
        { 12, 13, 4096, -1 },
        { 12, 13, 4097, 8192 },
        { 10, 11, 1024, -1 },
        { 10, 11, -1, 2048 },
        { 10, 12, 4096, 4096 },
        { 20, 11, 1 << 19, -1 },
    };

    [Theory]
    [MemberData(nameof(MismatchedRings))]
    public void Ring_memory_whose_length_does_not_match_its_order_is_an_argument_error(int left, int right, int leftLength, int rightLength)
    {
        using var h = VchanHarness.Shared(left, right);
        Memory<byte> leftRing = leftLength < 0 ? Memory<byte>.Empty : new byte[leftLength];
        Memory<byte> rightRing = rightLength < 0 ? Memory<byte>.Empty : new byte[rightLength];
        Assert.Throws<ArgumentException>(() => VchanStream.Create(VchanRole.Server, h.Page, leftRing, rightRing, h.ServerEvents));
        Assert.Throws<ArgumentException>(() => VchanStream.Create(VchanRole.Client, h.Page, leftRing, rightRing, h.ClientEvents));
    }

    [Fact]
    public void A_page_smaller_than_4096_bytes_is_an_argument_error()
    {
        using var h = VchanHarness.Shared(10, 11);
        Assert.Throws<ArgumentException>(() => VchanStream.Create(VchanRole.Client, h.Page.AsMemory(0, 4095), default, default, h.ClientEvents));
    }
}
