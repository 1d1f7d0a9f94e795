using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Xen.Rings;

/// <summary>
/// One direction of a Xen byte ring: a power-of-two buffer with a free-running <see cref="uint"/> consumer
/// and producer index, as used by both halves of the console ring (<c>in</c>/<c>out</c>) and of the xenstore
/// ring (<c>req</c>/<c>rsp</c>).
/// </summary>
/// <remarks>
/// <para>
/// Design. The buffer and both indices live in memory shared with another domain, so this type keeps no
/// state of its own: each call reads the indices it needs exactly once, checks them, works on the local
/// copies and publishes one index at the end. Slot <c>i</c> is at <c>i &amp; (size - 1)</c>; the indices
/// wrap at 2^32 and are never reset.
/// </para>
/// <para>
/// Ownership. The producer side (<see cref="Write"/>, <see cref="GetWriteSegments"/>, <see cref="Commit"/>)
/// owns the producer index and only reads the consumer index; the consumer side (<see cref="Read"/>,
/// <see cref="Peek"/>, <see cref="GetReadSegments"/>, <see cref="Advance"/>) owns the consumer index and only
/// reads the producer index.
/// A single view may be used by one producer and one consumer concurrently, never by two producers or two
/// consumers.
/// </para>
/// <para>
/// Memory ordering. The peer's index is read with <c>Volatile.Read</c> (acquire: our data
/// accesses cannot move before it, which is Xen's <c>mb()</c>/<c>rmb()</c> after reading the indices), and
/// ours is published with <c>Volatile.Write</c> (release: every data access before it
/// is complete first, Xen's <c>wmb()</c>/<c>mb()</c> before updating an index). On x86-64 both are plain
/// 32-bit loads and stores that the JIT does not reorder, which is what Xen's C gets from its compiler-barrier
/// <c>rmb()</c>/<c>wmb()</c>; TSO already keeps a data read before a later index store, so no fence
/// instruction is needed where Xen's consumers write <c>mb()</c>. The copies are <c>RingCopy</c>,
/// inlined: a call costs two index loads, one check, one or two copies and one store.
/// </para>
/// <para>
/// Hostile peer. Both indices are in the peer's reach. A pair with <c>prod - cons &gt; size</c> (unsigned)
/// cannot come from a correct peer and raises <see cref="RingCorruptedException"/> before anything is copied.
/// Every slot offset is masked into the buffer, so no index value reads or writes outside it. The in-place
/// API is split over two calls, and the peer may move its index between them: so <see cref="GetReadSegments"/>
/// and <see cref="GetWriteSegments"/> return a reservation carrying the index snapshot they validated, and
/// <see cref="Advance"/>/<see cref="Commit"/> publish from that snapshot without reading the peer's index
/// again. A count beyond the reservation is the caller's mistake (<see cref="ArgumentOutOfRangeException"/>);
/// nothing the peer does between the calls can cause one.
/// </para>
/// <para>Indices are in host byte order, as in Xen (every architecture Xen runs on is little-endian).</para>
/// </remarks>
public readonly ref struct ByteRing
{
    private readonly Span<byte> _buffer;
    private readonly ref uint _consumer;
    private readonly ref uint _producer;
    private readonly string _name;

    /// <summary>Creates a view over a ring buffer and its two indices.</summary>
    /// <param name="buffer">The data area; its length must be a power of two.</param>
    /// <param name="consumer">The consumer index (e.g. <c>out_cons</c>).</param>
    /// <param name="producer">The producer index (e.g. <c>out_prod</c>).</param>
    /// <param name="name">The ring's name for error messages (e.g. <c>"out"</c>).</param>
    /// <exception cref="ArgumentException">The buffer's length is not a power of two.</exception>
    public ByteRing(Span<byte> buffer, ref uint consumer, ref uint producer, string name = "ring")
    {
        if (buffer.IsEmpty || !BitOperations.IsPow2(buffer.Length))
        {
            ThrowHelper.ThrowArgument($"A ring buffer's length must be a power of two; it is {buffer.Length}.", nameof(buffer));
        }

        _buffer = buffer;
        _consumer = ref consumer;
        _producer = ref producer;
        _name = name;
    }

    /// <summary>Creates a view from a page and the offsets and size of one ring in it (internal: callers pass layout constants).</summary>
    internal ByteRing(Span<byte> page, int dataOffset, int size, int consumerOffset, int producerOffset, string name)
    {
        _buffer = page.Slice(dataOffset, size);
        _consumer = ref IndexAt(page, consumerOffset);
        _producer = ref IndexAt(page, producerOffset);
        _name = name;
    }

    /// <summary>The ring's size in bytes.</summary>
    public int Capacity => _buffer.Length;

    /// <summary>The consumer index as it is now in shared memory (one volatile read).</summary>
    public uint Consumer => Volatile.Read(ref _consumer);

    /// <summary>The producer index as it is now in shared memory (one volatile read).</summary>
    public uint Producer => Volatile.Read(ref _producer);

    /// <summary>Bytes the consumer may read now. Either side may call it.</summary>
    /// <exception cref="RingCorruptedException">The indices are inconsistent.</exception>
    public int BytesAvailable
    {
        get
        {
            uint cons = Volatile.Read(ref _consumer);
            uint prod = Volatile.Read(ref _producer);
            return (int)Used(cons, prod);
        }
    }

    /// <summary>Bytes the producer may write now. Either side may call it.</summary>
    /// <exception cref="RingCorruptedException">The indices are inconsistent.</exception>
    public int BytesFree => _buffer.Length - BytesAvailable;

    /// <summary>
    /// Producer: copies as much of <paramref name="source"/> as fits (at most two block copies, for the wrap)
    /// and publishes the new producer index. Does not notify the peer. Allocates nothing.
    /// </summary>
    /// <returns>The number of bytes written, 0 when the ring is full.</returns>
    /// <exception cref="RingCorruptedException">The indices are inconsistent; nothing was written.</exception>
    public int Write(ReadOnlySpan<byte> source)
    {
        uint cons = Volatile.Read(ref _consumer);
        uint prod = Volatile.Read(ref _producer);
        uint size = (uint)_buffer.Length;
        uint free = size - Used(cons, prod);
        int count = (int)Math.Min(free, (uint)source.Length);
        if (count == 0)
        {
            return 0;
        }

        int offset = (int)(prod & (size - 1));
        int first = Math.Min(count, (int)size - offset);
        ref byte data = ref MemoryMarshal.GetReference(_buffer);
        ref byte src = ref MemoryMarshal.GetReference(source);
        RingCopy.Copy(ref Unsafe.Add(ref data, offset), ref src, (uint)first);
        if (count > first)
        {
            RingCopy.Copy(ref data, ref Unsafe.Add(ref src, first), (uint)(count - first));
        }

        Volatile.Write(ref _producer, unchecked(prod + (uint)count)); // wmb(); prod = ...
        return count;
    }

    /// <summary>
    /// Producer: the free space as up to two spans (the second non-empty only when the free space wraps), for
    /// writing in place, with the producer index they start at. The consumer index is read once, here, and
    /// validated. Nothing is published until <see cref="Commit(in ByteRingWriteReservation, int)"/>. Allocates nothing.
    /// </summary>
    /// <exception cref="RingCorruptedException">The indices are inconsistent.</exception>
    public ByteRingWriteReservation GetWriteSegments()
    {
        uint cons = Volatile.Read(ref _consumer);
        uint prod = Volatile.Read(ref _producer);
        uint size = (uint)_buffer.Length;
        int free = (int)(size - Used(cons, prod));
        int offset = (int)(prod & (size - 1));
        int firstLength = Math.Min(free, (int)size - offset);
        return new ByteRingWriteReservation(ref _producer, prod, _buffer.Slice(offset, firstLength), _buffer[..(free - firstLength)]);
    }

    /// <summary>
    /// Producer: publishes the first <paramref name="byteCount"/> bytes of <paramref name="reservation"/>
    /// (written in place through its spans) by setting the producer index to <c>reservation.Start +
    /// byteCount</c>. Neither index is read again, so a peer that moved its index since the reservation was
    /// made cannot change the outcome; the next call sees what it left.
    /// </summary>
    /// <param name="reservation">What <see cref="GetWriteSegments"/> returned on this ring, with no producer
    /// index published since.</param>
    /// <param name="byteCount">Bytes written at the start of the reservation.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="byteCount"/> is negative or more than the reservation holds.</exception>
    /// <exception cref="ArgumentException"><paramref name="reservation"/> was not made for this ring's producer index.</exception>
    public void Commit(in ByteRingWriteReservation reservation, int byteCount)
    {
        if (!reservation.IsFor(ref _producer))
        {
            ThrowHelper.ThrowArgument("The reservation was not made by GetWriteSegments on this ring.", nameof(reservation));
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)byteCount, (uint)reservation.Length, nameof(byteCount));
        Volatile.Write(ref _producer, unchecked(reservation.Start + (uint)byteCount)); // wmb(); prod = ...
    }

    /// <summary>
    /// Consumer: copies up to <c>destination.Length</c> available bytes out of the ring (at most two block
    /// copies) and publishes the new consumer index. Does not notify the peer. Allocates nothing.
    /// </summary>
    /// <returns>The number of bytes read, 0 when the ring is empty.</returns>
    /// <exception cref="RingCorruptedException">The indices are inconsistent; nothing was consumed.</exception>
    public int Read(Span<byte> destination)
    {
        uint cons = Volatile.Read(ref _consumer);
        int count = CopyOut(cons, Volatile.Read(ref _producer), destination);
        if (count != 0)
        {
            Volatile.Write(ref _consumer, unchecked(cons + (uint)count)); // mb(); cons = ...
        }

        return count;
    }

    /// <summary>Consumer: copies up to <c>destination.Length</c> available bytes without consuming them.</summary>
    /// <returns>The number of bytes copied.</returns>
    /// <exception cref="RingCorruptedException">The indices are inconsistent.</exception>
    public int Peek(Span<byte> destination) =>
        CopyOut(Volatile.Read(ref _consumer), Volatile.Read(ref _producer), destination);

    /// <summary>
    /// Consumer: the available bytes as up to two spans over shared memory (the second non-empty only when the
    /// data wraps), with the consumer index they start at. The producer index is read once, here, and
    /// validated. The peer cannot change bytes it has published until they are consumed, but a hostile peer
    /// can: copy what you validate. Nothing is consumed until <see cref="Advance(in ByteRingReadReservation, int)"/>.
    /// Allocates nothing.
    /// </summary>
    /// <exception cref="RingCorruptedException">The indices are inconsistent.</exception>
    public ByteRingReadReservation GetReadSegments()
    {
        uint cons = Volatile.Read(ref _consumer);
        uint prod = Volatile.Read(ref _producer);
        uint size = (uint)_buffer.Length;
        int used = (int)Used(cons, prod);
        int offset = (int)(cons & (size - 1));
        int firstLength = Math.Min(used, (int)size - offset);
        return new ByteRingReadReservation(ref _consumer, cons, _buffer.Slice(offset, firstLength), _buffer[..(used - firstLength)]);
    }

    /// <summary>
    /// Consumer: consumes the first <paramref name="byteCount"/> bytes of <paramref name="reservation"/> by
    /// setting the consumer index to <c>reservation.Start + byteCount</c>. Neither index is read again, so a
    /// peer that moved its index since the reservation was made cannot change the outcome; the next call sees
    /// what it left.
    /// </summary>
    /// <param name="reservation">What <see cref="GetReadSegments"/> returned on this ring, with no consumer
    /// index published since.</param>
    /// <param name="byteCount">Bytes consumed from the start of the reservation.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="byteCount"/> is negative or more than the reservation holds.</exception>
    /// <exception cref="ArgumentException"><paramref name="reservation"/> was not made for this ring's consumer index.</exception>
    public void Advance(in ByteRingReadReservation reservation, int byteCount)
    {
        if (!reservation.IsFor(ref _consumer))
        {
            ThrowHelper.ThrowArgument("The reservation was not made by GetReadSegments on this ring.", nameof(reservation));
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)byteCount, (uint)reservation.Length, nameof(byteCount));
        Volatile.Write(ref _consumer, unchecked(reservation.Start + (uint)byteCount)); // mb(); cons = ...
    }

    /// <summary>Sets both indices to <paramref name="index"/> (an empty ring). For the side that owns the page at setup or reconnection.</summary>
    public void Reset(uint index = 0)
    {
        Volatile.Write(ref _consumer, index);
        Volatile.Write(ref _producer, index);
    }

    private int CopyOut(uint cons, uint prod, Span<byte> destination)
    {
        uint size = (uint)_buffer.Length;
        int count = (int)Math.Min(Used(cons, prod), (uint)destination.Length);
        if (count == 0)
        {
            return 0;
        }

        int offset = (int)(cons & (size - 1));
        int first = Math.Min(count, (int)size - offset);
        ref byte data = ref MemoryMarshal.GetReference(_buffer);
        ref byte dst = ref MemoryMarshal.GetReference(destination);
        RingCopy.Copy(ref dst, ref Unsafe.Add(ref data, offset), (uint)first);
        if (count > first)
        {
            RingCopy.Copy(ref Unsafe.Add(ref dst, first), ref data, (uint)(count - first));
        }

        return count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint Used(uint cons, uint prod)
    {
        uint used = unchecked(prod - cons);
        if (used > (uint)_buffer.Length)
        {
            ThrowHelper.ThrowRingCorrupted(_name, cons, prod, (uint)_buffer.Length);
        }

        return used;
    }

    /// <summary>A reference to the 4-byte index at <paramref name="offset"/> of <paramref name="page"/> (bounds-checked once).</summary>
    internal static ref uint IndexAt(Span<byte> page, int offset) =>
        ref Unsafe.As<byte, uint>(ref page.Slice(offset, sizeof(uint))[0]);
}
