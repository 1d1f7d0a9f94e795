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
/// <see cref="Peek"/>, <see cref="Advance"/>) owns the consumer index and only reads the producer index.
/// A single view may be used by one producer and one consumer concurrently, never by two producers or two
/// consumers.
/// </para>
/// <para>
/// Memory ordering. The peer's index is read with <c>Volatile.Read</c> (acquire: our data
/// accesses cannot move before it, which is Xen's <c>mb()</c>/<c>rmb()</c> after reading the indices), and
/// ours is published with <c>Volatile.Write</c> (release: every data access before it
/// is complete first, Xen's <c>wmb()</c>/<c>mb()</c> before updating an index).
/// </para>
/// <para>
/// Hostile peer. Both indices are in the peer's reach. A pair with <c>prod - cons &gt; size</c> (unsigned)
/// cannot come from a correct peer and raises <see cref="RingCorruptedException"/> before anything is copied.
/// Every slot offset is masked into the buffer, so no index value reads or writes outside it.
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
        Unsafe.CopyBlockUnaligned(ref Unsafe.Add(ref data, offset), ref src, (uint)first);
        if (count > first)
        {
            Unsafe.CopyBlockUnaligned(ref data, ref Unsafe.Add(ref src, first), (uint)(count - first));
        }

        Volatile.Write(ref _producer, unchecked(prod + (uint)count)); // wmb(); prod = ...
        return count;
    }

    /// <summary>
    /// Producer: the free space as up to two spans (the second non-empty only when the free space wraps),
    /// for writing in place. Nothing is published until <see cref="Commit"/>.
    /// </summary>
    /// <exception cref="RingCorruptedException">The indices are inconsistent.</exception>
    public void GetWriteSegments(out Span<byte> first, out Span<byte> second) => _ = ReserveWrite(out first, out second);

    /// <summary>
    /// Producer: <see cref="GetWriteSegments"/>, returning the producer index the segments start at, for
    /// <see cref="Publish"/>. The consumer index is read once, here.
    /// </summary>
    /// <exception cref="RingCorruptedException">The indices are inconsistent.</exception>
    internal uint ReserveWrite(out Span<byte> first, out Span<byte> second)
    {
        uint cons = Volatile.Read(ref _consumer);
        uint prod = Volatile.Read(ref _producer);
        uint size = (uint)_buffer.Length;
        int free = (int)(size - Used(cons, prod));
        int offset = (int)(prod & (size - 1));
        int firstLength = Math.Min(free, (int)size - offset);
        first = _buffer.Slice(offset, firstLength);
        second = _buffer[..(free - firstLength)];
        return prod;
    }

    /// <summary>Producer: publishes <paramref name="byteCount"/> bytes written through <see cref="GetWriteSegments"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="byteCount"/> is negative or more than is free.</exception>
    /// <exception cref="RingCorruptedException">The indices are inconsistent.</exception>
    public void Commit(int byteCount)
    {
        uint cons = Volatile.Read(ref _consumer);
        uint prod = Volatile.Read(ref _producer);
        uint free = (uint)_buffer.Length - Used(cons, prod);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)byteCount, free, nameof(byteCount));
        Volatile.Write(ref _producer, unchecked(prod + (uint)byteCount));
    }

    /// <summary>
    /// Producer: publishes <paramref name="byteCount"/> bytes written through <see cref="ReserveWrite"/>, which
    /// returned <paramref name="producer"/> and measured the free space. Unlike <see cref="Commit"/> it does not
    /// read the consumer index again, so a peer that moves it in between cannot turn a correct write into an
    /// argument error; the next call sees whatever the peer left.
    /// </summary>
    internal void Publish(uint producer, int byteCount) =>
        Volatile.Write(ref _producer, unchecked(producer + (uint)byteCount)); // wmb(); prod = ...

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
    /// data wraps). The peer cannot change bytes it has published until they are consumed, but a hostile peer
    /// can: copy what you validate. Nothing is consumed until <see cref="Advance"/>.
    /// </summary>
    /// <exception cref="RingCorruptedException">The indices are inconsistent.</exception>
    public void GetReadSegments(out ReadOnlySpan<byte> first, out ReadOnlySpan<byte> second)
    {
        uint cons = Volatile.Read(ref _consumer);
        uint prod = Volatile.Read(ref _producer);
        uint size = (uint)_buffer.Length;
        int used = (int)Used(cons, prod);
        int offset = (int)(cons & (size - 1));
        int firstLength = Math.Min(used, (int)size - offset);
        first = _buffer.Slice(offset, firstLength);
        second = _buffer[..(used - firstLength)];
    }

    /// <summary>Consumer: consumes <paramref name="byteCount"/> available bytes without copying them.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="byteCount"/> is negative or more than is available.</exception>
    /// <exception cref="RingCorruptedException">The indices are inconsistent.</exception>
    public void Advance(int byteCount)
    {
        uint cons = Volatile.Read(ref _consumer);
        uint used = Used(cons, Volatile.Read(ref _producer));
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)byteCount, used, nameof(byteCount));
        Volatile.Write(ref _consumer, unchecked(cons + (uint)byteCount));
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
        Unsafe.CopyBlockUnaligned(ref dst, ref Unsafe.Add(ref data, offset), (uint)first);
        if (count > first)
        {
            Unsafe.CopyBlockUnaligned(ref Unsafe.Add(ref dst, first), ref data, (uint)(count - first));
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
