using System.Runtime.CompilerServices;

namespace Xen.Rings.SharedRing;

/// <summary>
/// The back end of a <c>ring.h</c> request/response ring (<c>struct *_back_ring</c>): it consumes requests
/// and produces responses.
/// </summary>
/// <remarks>
/// <para>
/// Design. This object holds the back end's private indices (<c>rsp_prod_pvt</c>, <c>req_cons</c>). Each
/// request is copied out of its slot once (<c>RING_COPY_REQUEST</c>) before the caller sees it, so a front
/// end that rewrites the slot after our checks cannot change what we act on (the double-fetch class of bug).
/// </para>
/// <para>
/// Hostile peer. <c>req_prod</c> is read once per call and checked with <c>RING_REQUEST_PROD_OVERFLOW</c>
/// (<c>req_prod - rsp_prod_pvt &gt; RING_SIZE</c>); consuming also honours <c>RING_REQUEST_CONS_OVERFLOW</c>
/// (never more requests outstanding than slots). A broken front end gets <see cref="RingCorruptedException"/>
/// and nothing is consumed.
/// </para>
/// <para>Threads. Not thread-safe. The memory is pinned for the lifetime of the object; dispose it to unpin.</para>
/// </remarks>
/// <typeparam name="TRequest">The request struct.</typeparam>
/// <typeparam name="TResponse">The response struct.</typeparam>
public sealed unsafe class BackRing<TRequest, TResponse> : IDisposable
    where TRequest : unmanaged
    where TResponse : unmanaged
{
    private readonly SharedRingMemory _ring;
    private uint _rspProdPvt;
    private uint _reqCons;

    private BackRing(Memory<byte> sharedRing, int entrySize, uint startIndex)
    {
        _ring = new SharedRingMemory(sharedRing, RingEntry.Size<TRequest, TResponse>(entrySize), nameof(sharedRing));
        _rspProdPvt = startIndex;
        _reqCons = startIndex;
    }

    /// <summary>
    /// <c>BACK_RING_ATTACH</c>: attaches to a ring the front end initialised, with both private indices at
    /// <paramref name="startIndex"/> (0 for a fresh ring, <c>BACK_RING_INIT</c>). The shared header is not touched.
    /// </summary>
    /// <param name="sharedRing">The ring's memory: one or more pages.</param>
    /// <param name="startIndex">The starting value of <c>rsp_prod_pvt</c> and <c>req_cons</c>.</param>
    /// <param name="entrySize">The size of one entry (the union); 0 means the larger of the two structs.</param>
    /// <exception cref="ArgumentException">The memory has no room for one entry, or the entry size is too small.</exception>
    public static BackRing<TRequest, TResponse> Attach(Memory<byte> sharedRing, uint startIndex = 0, int entrySize = 0) =>
        new(sharedRing, entrySize, startIndex);

    /// <summary>The number of slots (<c>RING_SIZE</c>): a power of two.</summary>
    public int SlotCount => _ring.SlotCount;

    /// <summary>The size of one slot in bytes.</summary>
    public int EntrySize => _ring.EntrySize;

    /// <summary><c>req_cons</c>: requests consumed.</summary>
    public uint RequestConsumer => _reqCons;

    /// <summary><c>rsp_prod_pvt</c>: responses produced, including those not yet pushed.</summary>
    public uint ResponseProducerPrivate => _rspProdPvt;

    /// <summary>Requests consumed and not yet answered.</summary>
    public int OutstandingRequests => (int)unchecked(_reqCons - _rspProdPvt);

    /// <summary>
    /// <c>RING_HAS_UNCONSUMED_REQUESTS</c>: <c>min(req_prod - req_cons, RING_SIZE - (req_cons - rsp_prod_pvt))</c>.
    /// </summary>
    /// <exception cref="RingCorruptedException">The front end's <c>req_prod</c> is beyond what the ring can hold.</exception>
    public int UnconsumedRequests => (int)CheckedRequests(Volatile.Read(ref Header(SharedRingLayout.ReqProdOffset)));

    /// <summary>
    /// Copies the next request out of its slot (<c>RING_COPY_REQUEST</c>) and advances <c>req_cons</c>.
    /// </summary>
    /// <returns><see langword="false"/> when there is no request to consume.</returns>
    /// <exception cref="RingCorruptedException">The front end's <c>req_prod</c> is beyond what the ring can hold; nothing consumed.</exception>
    public bool TryConsumeRequest(out TRequest request)
    {
        uint reqProd = Volatile.Read(ref Header(SharedRingLayout.ReqProdOffset)); // rmb() after
        if (CheckedRequests(reqProd) == 0)
        {
            request = default;
            return false;
        }

        request = Unsafe.ReadUnaligned<TRequest>(Slot(_reqCons));
        _reqCons = unchecked(_reqCons + 1);
        return true;
    }

    /// <summary>
    /// Writes <paramref name="response"/> into the next response slot and advances <c>rsp_prod_pvt</c>. Not
    /// visible to the front end until <see cref="PushResponses"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Every consumed request already has a response (no slot is owed).</exception>
    public void ProduceResponse(in TResponse response)
    {
        if (_rspProdPvt == _reqCons)
        {
            ThrowHelper.ThrowInvalidOperation("Every consumed request already has a response: a back end may only answer requests it consumed.");
        }

        Unsafe.WriteUnaligned(Slot(_rspProdPvt), response);
        _rspProdPvt = unchecked(_rspProdPvt + 1);
    }

    /// <summary>
    /// <c>RING_PUSH_RESPONSES_AND_CHECK_NOTIFY</c>: publishes the produced responses and says whether the front
    /// end asked to be notified.
    /// </summary>
    /// <returns>Whether to notify the front end's event channel.</returns>
    public bool PushResponses() =>
        _ring.PushAndCheckNotify(SharedRingLayout.RspProdOffset, SharedRingLayout.RspEventOffset, _rspProdPvt);

    /// <summary>
    /// <c>RING_FINAL_CHECK_FOR_REQUESTS</c>: call before sleeping. If no request is pending it sets
    /// <c>req_event = req_cons + 1</c> and checks again.
    /// </summary>
    /// <returns>Whether requests are waiting (keep consuming instead of sleeping).</returns>
    /// <exception cref="RingCorruptedException">The front end's <c>req_prod</c> is beyond what the ring can hold.</exception>
    public bool FinalCheckForRequests()
    {
        if (UnconsumedRequests != 0)
        {
            return true;
        }

        _ring.ArmEvent(SharedRingLayout.ReqEventOffset, unchecked(_reqCons + 1));
        return UnconsumedRequests != 0;
    }

    /// <summary>Unpins the ring memory. The object must not be used afterwards.</summary>
    public void Dispose() => _ring.Dispose();

    private uint CheckedRequests(uint reqProd)
    {
        // RING_REQUEST_PROD_OVERFLOW: the front end can never have more requests out than slots. And req_prod
        // never moves back behind what we consumed (else stale slots would be consumed as new requests).
        uint outstanding = unchecked(reqProd - _rspProdPvt);
        uint unconsumed = unchecked(reqProd - _reqCons);
        if (outstanding > (uint)SlotCount || unconsumed > outstanding)
        {
            ThrowHelper.ThrowRingCorrupted("req", _reqCons, reqProd, (uint)SlotCount);
        }

        uint room = (uint)SlotCount - unchecked(_reqCons - _rspProdPvt); // RING_REQUEST_CONS_OVERFLOW
        return Math.Min(unconsumed, room);
    }

    private ref uint Header(int offset) => ref _ring.Header(offset);

    private byte* Slot(uint index) => _ring.Slot(index);
}
