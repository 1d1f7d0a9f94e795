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
        ByteRingReadReservation unread = Ring(buffer, idx).GetReadSegments();
        Assert.Equal(4, unread.Length);
        Ring(buffer, idx).Advance(unread, 3);
        Assert.Equal(1, Ring(buffer, idx).Read(two));
        Assert.Equal((byte)'d', two[0]);
    }

    [Fact]
    public void Segments_split_at_the_wrap_and_commit_publishes_in_place_writes()
    {
        byte[] buffer = new byte[8];
        uint[] idx = [6, 6];
        ByteRingWriteReservation space = Ring(buffer, idx).GetWriteSegments();
        Assert.Equal(2, space.First.Length);
        Assert.Equal(6, space.Second.Length);
        Assert.Equal(6u, space.Start);
        space.First.Fill((byte)'x');
        space.Second[0] = (byte)'y';
        Ring(buffer, idx).Commit(space, 3);
        Assert.Equal(9u, idx[1]);
        ByteRingReadReservation unread = Ring(buffer, idx).GetReadSegments();
        Assert.Equal("xx"u8.ToArray(), unread.First.ToArray());
        Assert.Equal("y"u8.ToArray(), unread.Second.ToArray());
    }

    [Fact]
    public void Advance_and_Commit_publish_from_the_reservation_whatever_the_peer_did_since()
    {
        byte[] buffer = new byte[8];
        uint[] idx = [2, 7];
        ByteRingReadReservation unread = Ring(buffer, idx).GetReadSegments();
        idx[1] = 3;                     // the producer takes back 4 of the 5 bytes it published
        Ring(buffer, idx).Advance(unread, 5);
        Assert.Equal([7u, 3u], idx);   // consumed what was validated; the next call reports the peer's state
        Assert.Throws<RingCorruptedException>(() => Ring(buffer, idx).BytesAvailable);

        idx[0] = 0;
        idx[1] = 4;
        ByteRingWriteReservation space = Ring(buffer, idx).GetWriteSegments();
        idx[0] = 0xFFFF_0000;           // the consumer jumps far ahead: an impossible index
        Ring(buffer, idx).Commit(space, 4);
        Assert.Equal([0xFFFF_0000u, 8u], idx);
    }

    [Fact]
    public void Committing_or_advancing_beyond_the_reservation_is_an_argument_error_that_publishes_nothing()
    {
        byte[] buffer = new byte[8];
        uint[] idx = [0, 3];
        ByteRingReadReservation unread = Ring(buffer, idx).GetReadSegments();
        ByteRingWriteReservation space = Ring(buffer, idx).GetWriteSegments();
        idx[1] = 8;                     // more data now, but the reservation holds 3 bytes
        Assert.Equal(typeof(ArgumentOutOfRangeException), AdvanceThrows(buffer, idx, unread, 4));
        Assert.Equal(typeof(ArgumentOutOfRangeException), AdvanceThrows(buffer, idx, unread, -1));
        idx[1] = 3;
        Assert.Equal(typeof(ArgumentOutOfRangeException), CommitThrows(buffer, idx, space, 6));
        Assert.Equal(typeof(ArgumentOutOfRangeException), CommitThrows(buffer, idx, space, -1));
        Assert.Equal([0u, 3u], idx);
    }

    [Fact]
    public void A_reservation_of_another_ring_or_a_default_one_is_an_argument_error()
    {
        byte[] buffer = new byte[8];
        uint[] idx = [0, 3];
        uint[] other = [0, 3];
        ByteRingReadReservation foreign = Ring(buffer, other).GetReadSegments();
        Assert.Equal(typeof(ArgumentException), AdvanceThrows(buffer, idx, foreign, 1));
        Assert.Equal(typeof(ArgumentException), AdvanceThrows(buffer, idx, default, 0));
        Assert.Equal(typeof(ArgumentException), CommitThrows(buffer, idx, default, 0));
        Assert.Equal([0u, 3u], idx);
        Assert.Equal([0u, 3u], other);
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

    private static Type? AdvanceThrows(byte[] buffer, uint[] idx, in ByteRingReadReservation reservation, int byteCount)
    {
        try
        {
            Ring(buffer, idx).Advance(reservation, byteCount);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.GetType();
        }
    }

    private static Type? CommitThrows(byte[] buffer, uint[] idx, in ByteRingWriteReservation reservation, int byteCount)
    {
        try
        {
            Ring(buffer, idx).Commit(reservation, byteCount);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.GetType();
        }
    }
}
