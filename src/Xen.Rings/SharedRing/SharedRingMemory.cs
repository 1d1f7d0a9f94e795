using System.Buffers;
using System.Runtime.CompilerServices;

namespace Xen.Rings.SharedRing;

/// <summary>
/// The shared half of a <c>ring.h</c> ring as both ends see it: the pinned memory, the slot geometry, the header
/// fields, and the two rules both ends apply to their own producer and event indices (push-and-check-notify, and
/// re-arming an event index before the final check). <see cref="FrontRing{TRequest, TResponse}"/> and
/// <see cref="BackRing{TRequest, TResponse}"/> each own one and keep only their private indices.
/// </summary>
internal sealed unsafe class SharedRingMemory : IDisposable
{
    private MemoryHandle _pin;
    private readonly byte* _shared;
    private readonly uint _mask;

    public SharedRingMemory(Memory<byte> sharedRing, int entrySize, string paramName)
    {
        RingEntry.CheckMemory(sharedRing.Length, entrySize, paramName);
        EntrySize = entrySize;
        SlotCount = SharedRingLayout.SlotCount(sharedRing.Length, entrySize);
        _mask = (uint)SlotCount - 1;
        _pin = sharedRing.Pin();
        _shared = (byte*)_pin.Pointer;
    }

    public int SlotCount { get; }

    public int EntrySize { get; }

    /// <summary><c>SHARED_RING_INIT</c>: producers 0, events 1, <c>pvt</c> and padding zeroed.</summary>
    public void Initialize()
    {
        new Span<byte>(_shared, SharedRingLayout.HeaderSize).Clear();
        Header(SharedRingLayout.ReqEventOffset) = 1;
        Volatile.Write(ref Header(SharedRingLayout.RspEventOffset), 1u);
    }

    public ref uint Header(int offset) => ref Unsafe.AsRef<uint>(_shared + offset);

    public byte* Slot(uint index) => _shared + SharedRingLayout.HeaderSize + (nint)((index & _mask) * (uint)EntrySize);

    /// <summary>
    /// <c>RING_PUSH_*_AND_CHECK_NOTIFY</c>: publishes <paramref name="newProducer"/> at <paramref name="producerOffset"/>
    /// and says whether the peer's event index (at <paramref name="eventOffset"/>) lies in the range just published.
    /// </summary>
    public bool PushAndCheckNotify(int producerOffset, int eventOffset, uint newProducer)
    {
        ref uint producer = ref Header(producerOffset);
        uint old = producer; // ours; a peer that changed it only changes whether it gets a notification
        Volatile.Write(ref producer, newProducer); // wmb(); prod = new
        Interlocked.MemoryBarrier();                // mb(): publish before reading the peer's event index
        return SharedRingLayout.NeedsNotify(old, newProducer, Volatile.Read(ref Header(eventOffset)));
    }

    /// <summary>The middle of <c>RING_FINAL_CHECK_FOR_*</c>: ask to be notified of entry <paramref name="nextIndex"/>, then fence before re-reading.</summary>
    public void ArmEvent(int eventOffset, uint nextIndex)
    {
        Volatile.Write(ref Header(eventOffset), nextIndex);
        Interlocked.MemoryBarrier(); // mb(): publish the event index before re-reading the producer
    }

    public void Dispose() => _pin.Dispose();
}
