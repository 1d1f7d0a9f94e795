using System.Runtime.CompilerServices;

namespace Xen.Rings;

/// <summary>
/// The producer's snapshot of a <see cref="ByteRing"/> taken by <see cref="ByteRing.GetWriteSegments"/>: the
/// free space as up to two spans over shared memory to write in place, and the producer index they start at.
/// Pass it to <see cref="ByteRing.Commit(in ByteRingWriteReservation, int)"/> to publish what was written.
/// </summary>
/// <remarks>
/// The consumer index was read once and validated when the reservation was made;
/// <see cref="ByteRing.Commit(in ByteRingWriteReservation, int)"/> publishes from the producer index it holds
/// without reading either index again, so a peer that moves its index in between cannot turn a correct
/// commit into an argument error or make it publish space that was never validated as free; the next call
/// on the ring sees whatever the peer left. A reservation is valid until the producer index is next
/// published (by <c>Commit</c>, <c>Write</c> or <c>Reset</c>). It allocates nothing.
/// </remarks>
public readonly ref struct ByteRingWriteReservation
{
    private readonly ref uint _producer;

    internal ByteRingWriteReservation(ref uint producer, uint start, Span<byte> first, Span<byte> second)
    {
        _producer = ref producer;
        Start = start;
        First = first;
        Second = second;
    }

    /// <summary>The free space from the producer index up to the end of the buffer (or all of it).</summary>
    public Span<byte> First { get; }

    /// <summary>The free space that wraps to the start of the buffer; empty unless the free space wraps.</summary>
    public Span<byte> Second { get; }

    /// <summary>Bytes free in the snapshot: <c>First.Length + Second.Length</c>.</summary>
    public int Length => First.Length + Second.Length;

    /// <summary>The producer index the snapshot starts at.</summary>
    public uint Start { get; }

    /// <summary>Whether the reservation was made for the producer index at <paramref name="producer"/>.</summary>
    internal bool IsFor(ref uint producer) => Unsafe.AreSame(ref _producer, ref producer);
}
