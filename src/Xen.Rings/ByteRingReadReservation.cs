using System.Runtime.CompilerServices;

namespace Xen.Rings;

/// <summary>
/// The consumer's snapshot of a <see cref="ByteRing"/> taken by <see cref="ByteRing.GetReadSegments"/>: the
/// available bytes as up to two spans over shared memory, and the consumer index they start at. Pass it to
/// <see cref="ByteRing.Advance(in ByteRingReadReservation, int)"/> to consume some of them.
/// </summary>
/// <remarks>
/// The reservation is what makes a zero-copy read safe against a hostile peer: the producer index was read
/// once and validated when it was made, and <see cref="ByteRing.Advance(in ByteRingReadReservation, int)"/>
/// publishes from the consumer index it holds without reading either index again, so a peer that moves its
/// index in between cannot turn a correct call into an argument error or make it consume bytes that were
/// never validated; the next call on the ring sees whatever the peer left. A reservation is valid until the
/// consumer index is next published (by <c>Advance</c>, <c>Read</c> or <c>Reset</c>). It allocates nothing.
/// </remarks>
public readonly ref struct ByteRingReadReservation
{
    private readonly ref uint _consumer;

    internal ByteRingReadReservation(ref uint consumer, uint start, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        _consumer = ref consumer;
        Start = start;
        First = first;
        Second = second;
    }

    /// <summary>The available bytes from the consumer index up to the end of the buffer (or all of them).</summary>
    public ReadOnlySpan<byte> First { get; }

    /// <summary>The available bytes that wrapped to the start of the buffer; empty unless the data wraps.</summary>
    public ReadOnlySpan<byte> Second { get; }

    /// <summary>Bytes available in the snapshot: <c>First.Length + Second.Length</c>.</summary>
    public int Length => First.Length + Second.Length;

    /// <summary>The consumer index the snapshot starts at.</summary>
    public uint Start { get; }

    /// <summary>Whether the reservation was made for the consumer index at <paramref name="consumer"/>.</summary>
    internal bool IsFor(ref uint consumer) => Unsafe.AreSame(ref _consumer, ref consumer);
}
