namespace Xen.Rings.Tests;

public class RingCopyTests
{
    /// <summary>
    /// Every length around the vector loop's block sizes, at every alignment of either side: the bytes arrive
    /// intact and nothing before or after the destination range is written.
    /// </summary>
    [Fact]
    public void Copy_moves_exactly_byteCount_bytes_at_any_length_and_alignment()
    {
        const int Guard = 64;
        byte[] source = new byte[Guard + 1100 + Guard];
        new Random(7).NextBytes(source);
        int[] lengths = [.. Enumerable.Range(0, 300), 383, 384, 385, 511, 512, 513, 1023, 1024, 1025, 1100];
        foreach (int length in lengths)
        {
            foreach ((int sourceShift, int destinationShift) in new[] { (0, 0), (1, 0), (0, 3), (31, 17), (32, 0) })
            {
                byte[] destination = new byte[Guard + 1100 + Guard + 32];
                destination.AsSpan().Fill(0xA5);
                RingCopy.Copy(ref destination[Guard + destinationShift], ref source[Guard + sourceShift], (uint)length);

                Assert.True(
                    source.AsSpan(Guard + sourceShift, length).SequenceEqual(destination.AsSpan(Guard + destinationShift, length)),
                    $"length {length}, shifts {sourceShift}/{destinationShift}: bytes differ");
                Assert.True(destination.AsSpan(0, Guard + destinationShift).IndexOfAnyExcept((byte)0xA5) < 0, $"length {length}: wrote before the destination");
                Assert.True(destination.AsSpan(Guard + destinationShift + length).IndexOfAnyExcept((byte)0xA5) < 0, $"length {length}: wrote past the destination");
            }
        }
    }
}
