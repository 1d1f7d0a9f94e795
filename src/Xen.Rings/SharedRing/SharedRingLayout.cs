using System.Numerics;

namespace Xen.Rings.SharedRing;

/// <summary>
/// The layout of a <c>ring.h</c> shared ring (<c>DEFINE_RING_TYPES</c>): a 64-byte header followed by a
/// power-of-two array of entries, each the union of a request and a response.
/// </summary>
/// <remarks>
/// <code>
/// offset  size  field
///      0     4  req_prod   written by the front end
///      4     4  req_event  written by the back end: notify me when req_prod passes this
///      8     4  rsp_prod   written by the back end
///     12     4  rsp_event  written by the front end: notify me when rsp_prod passes this
///     16     4  pvt        per-protocol private byte(s), zeroed by SHARED_RING_INIT
///     20    44  __pad
///     64     .  ring[]     entries; count = rounddown_pow_of_two((bytes - 64) / entry size)
/// </code>
/// </remarks>
public static class SharedRingLayout
{
    /// <summary>The size of one page (<c>XEN_PAGE_SIZE</c>).</summary>
    public const int PageSize = 4096;

    /// <summary>Offset of <c>req_prod</c>.</summary>
    public const int ReqProdOffset = 0;

    /// <summary>Offset of <c>req_event</c>.</summary>
    public const int ReqEventOffset = 4;

    /// <summary>Offset of <c>rsp_prod</c>.</summary>
    public const int RspProdOffset = 8;

    /// <summary>Offset of <c>rsp_event</c>.</summary>
    public const int RspEventOffset = 12;

    /// <summary>Offset of the <c>pvt</c> union.</summary>
    public const int PvtOffset = 16;

    /// <summary>The size of the header; entries start here.</summary>
    public const int HeaderSize = 64;

    /// <summary>
    /// <c>__CONST_RING_SIZE</c>/<c>__RING_SIZE</c>: the number of entries a ring of <paramref name="ringByteCount"/>
    /// bytes holds for entries of <paramref name="entrySize"/> bytes: <c>(bytes - 64) / entrySize</c> rounded
    /// down to a power of two.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The ring holds no entry, or the entry size is not positive.</exception>
    public static int SlotCount(int ringByteCount, int entrySize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(entrySize);
        int raw = (ringByteCount - HeaderSize) / entrySize;
        if (ringByteCount < HeaderSize || raw < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ringByteCount), ringByteCount,
                $"A ring of {ringByteCount} bytes has no room for one {entrySize}-byte entry after the {HeaderSize}-byte header.");
        }

        return 1 << BitOperations.Log2((uint)raw);
    }

    /// <summary>The bytes of a ring of <c>2^ringPageOrder</c> pages (the <c>ring-page-order</c> xenstore key).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The order is negative or above 10.</exception>
    public static int RingByteCount(int ringPageOrder)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ringPageOrder);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ringPageOrder, 10);
        return PageSize << ringPageOrder;
    }

    /// <summary>
    /// The event-index rule of <c>RING_PUSH_*_AND_CHECK_NOTIFY</c>: after moving a producer index from
    /// <paramref name="oldProducer"/> to <paramref name="newProducer"/>, the peer must be notified iff its event
    /// index lies in <c>(old, new]</c> modulo 2^32: <c>(new - event) &lt; (new - old)</c>.
    /// </summary>
    public static bool NeedsNotify(uint oldProducer, uint newProducer, uint eventIndex) =>
        unchecked(newProducer - eventIndex) < unchecked(newProducer - oldProducer);
}
