using FsCheck;
using FsCheck.Fluent;

namespace Xen.Consoled.Tests;

/// <summary><see cref="ConsoleBuffer"/>: xenconsoled's buffer_append / buffer_advance rules.</summary>
public sealed class ConsoleBufferTests
{
    [Fact]
    public void Without_a_limit_everything_waits_and_comes_out_in_order()
    {
        var buffer = new ConsoleBuffer(0, discardOverflow: true);
        for (int i = 0; i < 100; i++)
        {
            buffer.Append([(byte)i, (byte)i]);
        }

        Assert.Equal(200, buffer.Pending.Length);
        Assert.True(buffer.CanTakeMore);
        buffer.Advance(200);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Discard_keeps_the_first_half_limit_and_the_newest_bytes_once_more_than_five_quarters_wait()
    {
        var buffer = new ConsoleBuffer(100, discardOverflow: true);
        byte[] first = [.. Enumerable.Range(0, 120).Select(i => (byte)i)];
        buffer.Append(first); // 120 <= 125: kept whole
        Assert.Equal(first, buffer.Pending.ToArray());

        byte[] more = [.. Enumerable.Range(200, 10).Select(i => (byte)i)];
        buffer.Append(more); // 130 > 125, nothing written yet: the middle goes
        byte[] expected = [.. first[..50], .. first[100..], .. more]; // first 50, then what came after the first 100
        Assert.Equal(expected, buffer.Pending.ToArray());
        Assert.True(buffer.CanTakeMore); // discard never holds the guest back
    }

    [Fact]
    public void Discard_moves_up_instead_when_more_than_a_quarter_limit_was_already_written()
    {
        var buffer = new ConsoleBuffer(100, discardOverflow: true);
        buffer.Append(new byte[120]);
        buffer.Advance(30); // 30 > 25 written
        buffer.Append(Enumerable.Repeat((byte)7, 10).ToArray());
        Assert.Equal(100, buffer.Pending.Length); // 90 unwritten + 10 new, nothing dropped
        Assert.Equal(100, buffer.Size);
    }

    [Fact]
    public void A_piece_larger_than_half_the_limit_still_leaves_at_most_five_quarters_waiting()
    {
        // xenconsoled would keep 50 + 310 = 360 here (it drops one half-limit); the buffer drops as many as needed.
        var buffer = new ConsoleBuffer(100, discardOverflow: true);
        byte[] piece = [.. Enumerable.Range(0, 410).Select(i => (byte)i)];
        buffer.Append(piece);
        Assert.True(buffer.Size <= 125, $"{buffer.Size} bytes wait");
        Assert.Equal(piece[..50], buffer.Pending[..50].ToArray());
        Assert.Equal(piece[^(buffer.Size - 50)..], buffer.Pending[50..].ToArray());
    }

    [Fact]
    public void Keep_stops_taking_output_at_the_limit_until_the_terminal_drains_it()
    {
        var buffer = new ConsoleBuffer(100, discardOverflow: false);
        buffer.Append(new byte[99]);
        Assert.True(buffer.CanTakeMore);
        buffer.Append(new byte[300]);
        Assert.Equal(399, buffer.Pending.Length); // nothing is dropped under keep
        Assert.False(buffer.CanTakeMore);
        buffer.Advance(399);
        Assert.True(buffer.CanTakeMore);
    }

    [Fact]
    public void Under_discard_at_most_five_quarters_of_the_limit_waits_whatever_the_piece_sizes_and_the_newest_byte_is_always_there()
    {
        Prop.ForAll(
            Gen.Choose(1, 400).ArrayOf().ToArbitrary(),
            Gen.Choose(4, 500).ToArbitrary(),
            (int[] sizes, int limit) =>
            {
                var buffer = new ConsoleBuffer(limit, discardOverflow: true);
                byte next = 0;
                foreach (int size in sizes)
                {
                    byte[] chunk = new byte[size];
                    for (int i = 0; i < size; i++)
                    {
                        chunk[i] = next++;
                    }

                    buffer.Append(chunk);
                    if (buffer.Size > 5 * limit / 4 || buffer.Pending[^1] != (byte)(next - 1))
                    {
                        return false;
                    }
                }

                return true;
            }).QuickCheckThrowOnFailure();
    }
}
