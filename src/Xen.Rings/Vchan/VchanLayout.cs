namespace Xen.Rings.Vchan;

/// <summary>
/// The layout of <c>struct vchan_interface</c> (<c>xen/io/libxenvchan.h</c>): the one page a vchan server shares with
/// its client, holding both rings' indices, the live and notify bytes, and the grant refs of rings too large for it.
/// </summary>
/// <remarks>
/// <code>
/// offset  size  field
///      0     4  left.cons    written by the server (left is the client -> server ring)
///      4     4  left.prod    written by the client
///      8     4  right.cons   written by the client (right is the server -> client ring)
///     12     4  right.prod   written by the server
///     16     2  left_order   log2 of the left ring's size, set by the server
///     18     2  right_order  log2 of the right ring's size, set by the server
///     20     1  cli_live     0 exited, 1 connected, 2 not yet connected (written by the client; cleared on unmap)
///     21     1  srv_live     written by the server (cleared when its share ends)
///     22     1  cli_notify   bits the client is to notify on: set by the server, cleared by the client
///     23     1  srv_notify   bits the server is to notify on: set by the client, cleared by the server
///     24   4*n  grants[]     refs of the left ring's pages, then the right ring's (orders >= 12 only)
/// </code>
/// A ring of order 10 lives inside this page at offset 1024, order 11 at offset 2048 (so the two rings may not both
/// have the same in-page order); order 12 to 20 takes 2^(order - 12) pages of its own, granted separately.
/// </remarks>
public static class VchanLayout
{
    /// <summary>The size of the shared page (and of each granted ring page).</summary>
    public const int PageSize = 4096;

    /// <summary>log2 of <see cref="PageSize"/>: the smallest order that takes pages of its own.</summary>
    public const int PageOrder = 12;

    /// <summary>Offset of <c>left.cons</c>.</summary>
    public const int LeftConsOffset = 0;

    /// <summary>Offset of <c>left.prod</c>.</summary>
    public const int LeftProdOffset = 4;

    /// <summary>Offset of <c>right.cons</c>.</summary>
    public const int RightConsOffset = 8;

    /// <summary>Offset of <c>right.prod</c>.</summary>
    public const int RightProdOffset = 12;

    /// <summary>Offset of <c>left_order</c> (16 bits).</summary>
    public const int LeftOrderOffset = 16;

    /// <summary>Offset of <c>right_order</c> (16 bits).</summary>
    public const int RightOrderOffset = 18;

    /// <summary>Offset of <c>cli_live</c>: the client's unmap notification clears this byte.</summary>
    public const int CliLiveOffset = 20;

    /// <summary>Offset of <c>srv_live</c>: the server's unshare notification clears this byte.</summary>
    public const int SrvLiveOffset = 21;

    /// <summary>Offset of <c>cli_notify</c>.</summary>
    public const int CliNotifyOffset = 22;

    /// <summary>Offset of <c>srv_notify</c>.</summary>
    public const int SrvNotifyOffset = 23;

    /// <summary>Offset of <c>grants[]</c> (<c>sizeof(struct vchan_interface)</c> without it).</summary>
    public const int GrantsOffset = 24;

    /// <summary>How many grant refs fit in the page after the header.</summary>
    public const int MaxGrants = (PageSize - GrantsOffset) / sizeof(uint);

    /// <summary>The smallest ring order (1 KiB, in the shared page at <see cref="SmallRingOffset"/>).</summary>
    public const int SmallRingOrder = 10;

    /// <summary>The in-page ring order 11 (2 KiB, at <see cref="LargeRingOffset"/>).</summary>
    public const int LargeRingOrder = 11;

    /// <summary>Where an order-10 ring lives in the shared page.</summary>
    public const int SmallRingOffset = 1024;

    /// <summary>Where an order-11 ring lives in the shared page.</summary>
    public const int LargeRingOffset = 2048;

    /// <summary>The largest ring order libxenvchan accepts (1 MiB, 256 granted pages).</summary>
    public const int MaxRingOrder = 20;

    /// <summary>The largest ring, in bytes (what a server may be asked for).</summary>
    public const int MaxRingSize = 1 << MaxRingOrder;

    /// <summary>
    /// How many pages of its own a ring of <paramref name="order"/> takes: 0 for the in-page orders 10 and 11, else
    /// 2^(order - 12).
    /// </summary>
    public static int PageCount(int order) => order >= PageOrder ? 1 << (order - PageOrder) : 0;

    /// <summary>The offset in the shared page of an in-page ring (order 10 or 11); -1 for an order that takes pages of its own.</summary>
    public static int InPageOffset(int order) => order switch
    {
        SmallRingOrder => SmallRingOffset,
        LargeRingOrder => LargeRingOffset,
        _ => -1,
    };

    /// <summary>
    /// Whether a client may use the orders a server wrote (libxenvchan's client check): each within 10..20, and not
    /// both the same in-page order (the two rings would be one buffer).
    /// </summary>
    public static bool IsValidOrderPair(int leftOrder, int rightOrder) =>
        leftOrder is >= SmallRingOrder and <= MaxRingOrder
        && rightOrder is >= SmallRingOrder and <= MaxRingOrder
        && !(leftOrder == rightOrder && leftOrder < PageOrder)
        && PageCount(leftOrder) + PageCount(rightOrder) <= MaxGrants;

    /// <summary>
    /// Whether a server may set up this pair: valid (<see cref="IsValidOrderPair"/>) and with its grant list ending before
    /// any ring in the page. A client accepts more (libxenvchan's check lets the 256 refs of an order-20 ring run past
    /// offset 1024 into an order-10 ring, which it has read by then); a server that wrote such a page would corrupt its
    /// own grant list with the first bytes through that ring. <see cref="ChooseOrders"/> never picks such a pair.
    /// </summary>
    public static bool IsServablePair(int leftOrder, int rightOrder)
    {
        if (!IsValidOrderPair(leftOrder, rightOrder))
        {
            return false;
        }

        int grantsEnd = GrantsOffset + (sizeof(uint) * (PageCount(leftOrder) + PageCount(rightOrder)));
        int firstRing = Math.Min(InPageStart(leftOrder), InPageStart(rightOrder));
        return grantsEnd <= firstRing;

        static int InPageStart(int order) => InPageOffset(order) is int offset and >= 0 ? offset : PageSize;
    }

    /// <summary>
    /// The ring orders a server picks for rings of at least <paramref name="leftMinBytes"/> (client to server) and
    /// <paramref name="rightMinBytes"/> (server to client), as <c>libxenvchan_server_init</c> does: the in-page rings
    /// when both fit (1 KiB and 2 KiB, the larger for the side that asked for more), else one in-page ring where one
    /// fits, else the smallest power of two of at least a page.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative or above <see cref="MaxRingSize"/>.</exception>
    public static (int LeftOrder, int RightOrder) ChooseOrders(int leftMinBytes, int rightMinBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(leftMinBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(rightMinBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(leftMinBytes, MaxRingSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rightMinBytes, MaxRingSize);
        const int small = 1 << SmallRingOrder;
        const int large = 1 << LargeRingOrder;
        int left = MinPageOrder(leftMinBytes);
        int right = MinPageOrder(rightMinBytes);
        if (leftMinBytes <= small && rightMinBytes <= large)
        {
            return (SmallRingOrder, LargeRingOrder);
        }

        if (leftMinBytes <= large && rightMinBytes <= small)
        {
            return (LargeRingOrder, SmallRingOrder);
        }

        if (leftMinBytes <= large)
        {
            return (LargeRingOrder, right);
        }

        return rightMinBytes <= large ? (left, LargeRingOrder) : (left, right);
    }

    internal static void CheckPage(int length, string paramName)
    {
        if (length < PageSize)
        {
            ThrowHelper.ThrowArgument($"A vchan shared page has {PageSize} bytes; this one has {length}.", paramName);
        }
    }

    private static int MinPageOrder(int byteCount)
    {
        int order = PageOrder;
        while (byteCount > 1 << order)
        {
            order++;
        }

        return order;
    }
}
