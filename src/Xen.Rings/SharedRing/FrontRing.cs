using System.Runtime.CompilerServices;

namespace Xen.Rings.SharedRing;

/// <summary>
/// The front end of a <c>ring.h</c> request/response ring (<c>struct *_front_ring</c>): it produces requests
/// and consumes responses. Generic over unmanaged request and response structs laid out as the protocol's C
/// structs (for blkif: <see cref="Blkif.BlkifRequest"/> and <see cref="Blkif.BlkifResponse"/>).
/// </summary>
/// <remarks>
/// <para>
/// Design. The shared header and slots live in memory shared with the back end; this object holds the front
/// end's private indices (<c>req_prod_pvt</c>, <c>rsp_cons</c>), as <c>struct *_front_ring</c> does. Requests
/// are written into their slot and become visible to the back end only at <see cref="PushRequests"/>.
/// Responses are copied out of their slot once (<c>RING_COPY_RESPONSE</c>) before the caller sees them.
/// </para>
/// <para>
/// Hostile peer. <c>rsp_prod</c> is read once per call and checked against <c>rsp_cons</c>
/// (<c>RING_RESPONSE_PROD_OVERFLOW</c>); a back end that claims more responses than there are slots gets
/// <see cref="RingCorruptedException"/> and nothing is consumed. Slot offsets are masked, so no index value
/// reaches outside the ring.
/// </para>
/// <para>
/// Threads. Not thread-safe: one thread (or one logical owner) drives a front end, as in Xen. The memory is
/// pinned for the lifetime of the object; dispose it to unpin.
/// </para>
/// </remarks>
/// <typeparam name="TRequest">The request struct.</typeparam>
/// <typeparam name="TResponse">The response struct.</typeparam>
public sealed unsafe class FrontRing<TRequest, TResponse> : IDisposable
    where TRequest : unmanaged
    where TResponse : unmanaged
{
    private readonly SharedRingMemory _ring;
    private uint _reqProdPvt;
    private uint _rspCons;

    private FrontRing(Memory<byte> sharedRing, int entrySize)
    {
        _ring = new SharedRingMemory(sharedRing, RingEntry.Size<TRequest, TResponse>(entrySize), nameof(sharedRing));
    }

    /// <summary>
    /// <c>SHARED_RING_INIT</c> + <c>FRONT_RING_INIT</c>: initialises the shared header (producers 0, events 1,
    /// <c>pvt</c> and padding zeroed) and returns the front end. Only the front end initialises a ring.
    /// </summary>
    /// <param name="sharedRing">The ring's memory: one or more pages (<c>4096 &lt;&lt; ring-page-order</c> bytes).</param>
    /// <param name="entrySize">The size of one entry (the union); 0 means the larger of the two structs.</param>
    /// <exception cref="ArgumentException">The memory has no room for one entry, or the entry size is too small.</exception>
    public static FrontRing<TRequest, TResponse> Initialize(Memory<byte> sharedRing, int entrySize = 0)
    {
        var ring = new FrontRing<TRequest, TResponse>(sharedRing, entrySize);
        ring._ring.Initialize();
        return ring;
    }

    /// <summary>
    /// <c>FRONT_RING_ATTACH</c>: takes over an already initialised ring (after resume), with both private
    /// indices at <paramref name="startIndex"/>. The shared header is not touched.
    /// </summary>
    /// <exception cref="ArgumentException">The memory has no room for one entry, or the entry size is too small.</exception>
    public static FrontRing<TRequest, TResponse> Attach(Memory<byte> sharedRing, uint startIndex, int entrySize = 0) =>
        new(sharedRing, entrySize) { _reqProdPvt = startIndex, _rspCons = startIndex };

    /// <summary>The number of slots (<c>RING_SIZE</c>): a power of two.</summary>
    public int SlotCount => _ring.SlotCount;

    /// <summary>The size of one slot in bytes.</summary>
    public int EntrySize => _ring.EntrySize;

    /// <summary><c>req_prod_pvt</c>: requests produced, including those not yet pushed.</summary>
    public uint RequestProducerPrivate => _reqProdPvt;

    /// <summary><c>rsp_cons</c>: responses consumed.</summary>
    public uint ResponseConsumer => _rspCons;

    /// <summary><c>RING_FREE_REQUESTS</c>: slots free for new requests.</summary>
    public int FreeRequests => SlotCount - (int)unchecked(_reqProdPvt - _rspCons);

    /// <summary><c>RING_FULL</c>.</summary>
    public bool IsFull => FreeRequests == 0;

    /// <summary>The shared <c>req_prod</c> as published.</summary>
    public uint SharedRequestProducer => Volatile.Read(ref Header(SharedRingLayout.ReqProdOffset));

    /// <summary>
    /// Writes <paramref name="request"/> into the next free slot and advances <c>req_prod_pvt</c>. The request is
    /// not visible to the back end until <see cref="PushRequests"/>.
    /// </summary>
    /// <returns><see langword="false"/> when the ring is full (nothing written).</returns>
    public bool TryProduceRequest(in TRequest request)
    {
        if (unchecked(_reqProdPvt - _rspCons) >= (uint)SlotCount)
        {
            return false;
        }

        Unsafe.WriteUnaligned(Slot(_reqProdPvt), request);
        _reqProdPvt = unchecked(_reqProdPvt + 1);
        return true;
    }

    /// <summary>
    /// <c>RING_PUSH_REQUESTS_AND_CHECK_NOTIFY</c>: publishes the produced requests and says whether the back
    /// end asked to be notified (its <c>req_event</c> lies in the range just published).
    /// </summary>
    /// <returns>Whether to notify the back end's event channel.</returns>
    public bool PushRequests() =>
        _ring.PushAndCheckNotify(SharedRingLayout.ReqProdOffset, SharedRingLayout.ReqEventOffset, _reqProdPvt);

    /// <summary><c>RING_HAS_UNCONSUMED_RESPONSES</c>: responses published and not yet consumed.</summary>
    /// <exception cref="RingCorruptedException">The back end's <c>rsp_prod</c> is beyond what the ring can hold.</exception>
    public int UnconsumedResponses => (int)CheckedResponses(Volatile.Read(ref Header(SharedRingLayout.RspProdOffset)));

    /// <summary>
    /// Copies the next response out of its slot (<c>RING_COPY_RESPONSE</c>) and advances <c>rsp_cons</c>.
    /// </summary>
    /// <returns><see langword="false"/> when there is no unconsumed response.</returns>
    /// <exception cref="RingCorruptedException">The back end's <c>rsp_prod</c> is beyond what the ring can hold; nothing consumed.</exception>
    public bool TryConsumeResponse(out TResponse response)
    {
        uint rspProd = Volatile.Read(ref Header(SharedRingLayout.RspProdOffset)); // rmb() after
        if (CheckedResponses(rspProd) == 0)
        {
            response = default;
            return false;
        }

        response = Unsafe.ReadUnaligned<TResponse>(Slot(_rspCons));
        _rspCons = unchecked(_rspCons + 1);
        return true;
    }

    /// <summary>
    /// <c>RING_FINAL_CHECK_FOR_RESPONSES</c>: call when there seems to be nothing left to do, before sleeping.
    /// If no response is pending it sets <c>rsp_event = rsp_cons + 1</c> (asking to be notified of the next
    /// one) and checks again, closing the race with a back end that produced in between.
    /// </summary>
    /// <returns>Whether responses are waiting (keep consuming instead of sleeping).</returns>
    /// <exception cref="RingCorruptedException">The back end's <c>rsp_prod</c> is beyond what the ring can hold.</exception>
    public bool FinalCheckForResponses()
    {
        if (UnconsumedResponses != 0)
        {
            return true;
        }

        _ring.ArmEvent(SharedRingLayout.RspEventOffset, unchecked(_rspCons + 1));
        return UnconsumedResponses != 0;
    }

    /// <summary>Unpins the ring memory. The object must not be used afterwards.</summary>
    public void Dispose() => _ring.Dispose();

    private uint CheckedResponses(uint rspProd)
    {
        // RING_RESPONSE_PROD_OVERFLOW: (prod - rsp_cons) > RING_SIZE; and a correct back end never answers
        // more requests than we produced.
        uint unconsumed = unchecked(rspProd - _rspCons);
        if (unconsumed > unchecked(_reqProdPvt - _rspCons))
        {
            ThrowHelper.ThrowRingCorrupted("rsp", _rspCons, rspProd, (uint)SlotCount);
        }

        return unconsumed;
    }

    private ref uint Header(int offset) => ref _ring.Header(offset);

    private byte* Slot(uint index) => _ring.Slot(index);
}
