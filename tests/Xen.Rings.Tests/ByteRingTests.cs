namespace Xen.Rings.Tests;

public class ByteRingTests
{
    private static ByteRing Ring(byte[] buffer, uint[] indices) => new(buffer, ref indices[0], ref indices[1], "test");

    [Fact]
    public void Write_then_read_across_the_wrap_and_the_2_32_boundary_returns_every_byte_in_order()
    {
        byte[] buffer = new byte[16];
        uint[] idx = [uint.MaxValue - 5, uint.MaxValue - 5];
        byte[] data = Enumerable.Range(1, 12).Select(i => (byte)i).ToArray();

        Assert.Equal(12, Ring(buffer, idx).Write(data));
        Assert.Equal(6u, idx[1]); // (2^32 - 6) + 12, wrapped past 2^32
        byte[] back = new byte[16];
        Assert.Equal(12, Ring(buffer, idx).Read(back));
        Assert.Equal(data, back[..12]);
        Assert.Equal(idx[1], idx[0]);
    }

    [Fact]
    public void Write_takes_only_what_fits_and_a_full_ring_takes_nothing()
    {
        byte[] buffer = new byte[8];
        uint[] idx = [0, 0];
        Assert.Equal(8, Ring(buffer, idx).Write(new byte[20]));
        Assert.Equal(0, Ring(buffer, idx).Write(new byte[1]));
        Assert.Equal(0, Ring(buffer, idx).BytesFree);
        Assert.Equal(8, Ring(buffer, idx).BytesAvailable);
    }

    [Fact]
    public void Peek_does_not_consume_and_advance_does()
    {
        byte[] buffer = new byte[8];
        uint[] idx = [6, 6];
        Ring(buffer, idx).Write("abcd"u8);
        byte[] two = new byte[2];
        Assert.Equal(2, Ring(buffer, idx).Peek(two));
        Assert.Equal("ab"u8.ToArray(), two);
        Assert.Equal(4, Ring(buffer, idx).BytesAvailable);
        Ring(buffer, idx).Advance(3);
        Assert.Equal(1, Ring(buffer, idx).Read(two));
        Assert.Equal((byte)'d', two[0]);
    }

    [Fact]
    public void Segments_split_at_the_wrap_and_commit_publishes_in_place_writes()
    {
        byte[] buffer = new byte[8];
        uint[] idx = [6, 6];
        Ring(buffer, idx).GetWriteSegments(out Span<byte> first, out Span<byte> second);
        Assert.Equal(2, first.Length);
        Assert.Equal(6, second.Length);
        first.Fill((byte)'x');
        second[0] = (byte)'y';
        Ring(buffer, idx).Commit(3);
        Ring(buffer, idx).GetReadSegments(out ReadOnlySpan<byte> r1, out ReadOnlySpan<byte> r2);
        Assert.Equal("xx"u8.ToArray(), r1.ToArray());
        Assert.Equal("y"u8.ToArray(), r2.ToArray());
    }

    [Theory]
    [InlineData(0u, 9u)]          // claims 9 bytes in an 8-byte ring
    [InlineData(10u, 5u)]         // producer behind consumer
    [InlineData(0u, 0x80000000u)]
    public void Inconsistent_indices_raise_RingCorruptedException_and_change_nothing(uint cons, uint prod)
    {
        byte[] buffer = new byte[8];
        uint[] idx = [cons, prod];
        var e = Assert.Throws<RingCorruptedException>(() => Ring(buffer, idx).Read(new byte[8]));
        Assert.Equal(cons, e.Consumer);
        Assert.Equal(prod, e.Producer);
        Assert.Throws<RingCorruptedException>(() => Ring(buffer, idx).Write(new byte[1]));
        Assert.Equal([cons, prod], idx);
        Assert.All(buffer, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(12)]
    public void A_buffer_whose_length_is_not_a_power_of_two_is_an_argument_error(int length)
    {
        uint[] idx = [0, 0];
        Assert.Throws<ArgumentException>(() => new ByteRing(new byte[length], ref idx[0], ref idx[1]));
    }
}
