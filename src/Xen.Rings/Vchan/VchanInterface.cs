using System.Runtime.CompilerServices;

namespace Xen.Rings.Vchan;

/// <summary>
/// A view over the shared page of a vchan (<c>struct vchan_interface</c>, see <see cref="VchanLayout"/>) from one
/// end: its orders, live bytes, notify bytes and grant list. Stateless over shared memory and allocation-free.
/// </summary>
/// <remarks>
/// <para>
/// The notify rules are libxenvchan's. An end that finds its ring empty (or full) sets the matching bit in the byte
/// the peer reads (<see cref="RequestNotify"/>, an atomic or followed by a full fence, so the request is visible before
/// the indices are read again), then reads the indices again, so a peer that moved them in between is not missed.
/// An end that moved an index clears the bit in its own byte (<see cref="TakeNotifyRequest"/>, an atomic and after a
/// full fence, so the index is visible before the bit is looked at) and sends an event only if the bit was set.
/// </para>
/// <para>Everything here is in the peer's reach: callers validate orders (<see cref="VchanLayout.IsValidOrderPair"/>)
/// and grant counts before they trust them.</para>
/// </remarks>
public readonly ref struct VchanInterface
{
    private readonly Span<byte> _page;
    private readonly VchanRole _role;

    /// <summary>Creates the view of one end over the shared page.</summary>
    /// <param name="page">The shared page (4096 bytes).</param>
    /// <param name="role">Which end this process is.</param>
    /// <exception cref="ArgumentException">The page is smaller than 4096 bytes.</exception>
    public VchanInterface(Span<byte> page, VchanRole role)
    {
        VchanLayout.CheckPage(page.Length, nameof(page));
        _page = page;
        _role = role;
    }

    /// <summary>log2 of the left (client to server) ring's size, as the server wrote it.</summary>
    public int LeftOrder => Volatile.Read(ref Unsafe.As<byte, ushort>(ref _page[VchanLayout.LeftOrderOffset]));

    /// <summary>log2 of the right (server to client) ring's size, as the server wrote it.</summary>
    public int RightOrder => Volatile.Read(ref Unsafe.As<byte, ushort>(ref _page[VchanLayout.RightOrderOffset]));

    /// <summary>log2 of the size of the ring this end reads: left for the server, right for the client.</summary>
    public int ReadOrder => _role == VchanRole.Server ? LeftOrder : RightOrder;

    /// <summary>log2 of the size of the ring this end writes: right for the server, left for the client.</summary>
    public int WriteOrder => _role == VchanRole.Server ? RightOrder : LeftOrder;

    /// <summary><c>cli_live</c> as it is now.</summary>
    public VchanLiveState ClientLive => (VchanLiveState)Volatile.Read(ref _page[VchanLayout.CliLiveOffset]);

    /// <summary><c>srv_live</c> as it is now.</summary>
    public VchanLiveState ServerLive => (VchanLiveState)Volatile.Read(ref _page[VchanLayout.SrvLiveOffset]);

    /// <summary>
    /// Whether the peer is still there, as <c>libxenvchan_is_open</c> says: for the server, <c>cli_live</c> is not 0
    /// (a client that has not connected yet counts); for the client, <c>srv_live</c> is not 0.
    /// </summary>
    public bool IsPeerOpen => (_role == VchanRole.Server ? ClientLive : ServerLive) != VchanLiveState.Exited;

    /// <summary>The grant refs of the rings' own pages: the left ring's first, then the right ring's.</summary>
    public Span<uint> Grants => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(_page[VchanLayout.GrantsOffset..VchanLayout.PageSize]);

    /// <summary>The consumer index of the ring this end reads (<c>left.cons</c> for the server, <c>right.cons</c> for the client).</summary>
    internal ref uint ReadCons => ref ByteRing.IndexAt(_page, _role == VchanRole.Server ? VchanLayout.LeftConsOffset : VchanLayout.RightConsOffset);

    /// <summary>The producer index of the ring this end reads.</summary>
    internal ref uint ReadProd => ref ByteRing.IndexAt(_page, _role == VchanRole.Server ? VchanLayout.LeftProdOffset : VchanLayout.RightProdOffset);

    /// <summary>The consumer index of the ring this end writes.</summary>
    internal ref uint WriteCons => ref ByteRing.IndexAt(_page, _role == VchanRole.Server ? VchanLayout.RightConsOffset : VchanLayout.LeftConsOffset);

    /// <summary>The producer index of the ring this end writes.</summary>
    internal ref uint WriteProd => ref ByteRing.IndexAt(_page, _role == VchanRole.Server ? VchanLayout.RightProdOffset : VchanLayout.LeftProdOffset);

    /// <summary>
    /// Server, at setup (<c>init_gnt_srv</c>): writes the orders, <c>cli_live</c> = 2 (not yet connected),
    /// <c>srv_live</c> = 1 and <c>cli_notify</c> = WRITE (wake the server when the client first writes), and zeroes the
    /// indices and the rest of the header. The grant refs are written by the caller through <see cref="Grants"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">This is the client's view.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The orders are not a pair a client accepts.</exception>
    public void InitializeServer(int leftOrder, int rightOrder)
    {
        if (_role != VchanRole.Server)
        {
            throw new InvalidOperationException("Only the server initializes the shared page.");
        }

        if (!VchanLayout.IsServablePair(leftOrder, rightOrder))
        {
            throw new ArgumentOutOfRangeException(nameof(leftOrder), $"Ring orders {leftOrder} and {rightOrder} are not a vchan pair a server can set up (10..20 each, not both the same in-page order, the grant list ending before any in-page ring).");
        }

        _page[..VchanLayout.GrantsOffset].Clear();
        Unsafe.As<byte, ushort>(ref _page[VchanLayout.LeftOrderOffset]) = (ushort)leftOrder;
        Unsafe.As<byte, ushort>(ref _page[VchanLayout.RightOrderOffset]) = (ushort)rightOrder;
        _page[VchanLayout.CliLiveOffset] = (byte)VchanLiveState.NotYetConnected;
        _page[VchanLayout.SrvLiveOffset] = (byte)VchanLiveState.Connected;
        _page[VchanLayout.CliNotifyOffset] = (byte)VchanNotify.Write;
    }

    /// <summary>
    /// Client, once mapped (<c>libxenvchan_client_init</c>): <c>cli_live</c> = 1 and <c>srv_notify</c> = WRITE; then
    /// notify the server's port so it sees the connection.
    /// </summary>
    /// <exception cref="InvalidOperationException">This is the server's view.</exception>
    public void MarkClientConnected()
    {
        if (_role != VchanRole.Client)
        {
            throw new InvalidOperationException("Only the client marks itself connected.");
        }

        Volatile.Write(ref _page[VchanLayout.CliLiveOffset], (byte)VchanLiveState.Connected);
        Volatile.Write(ref _page[VchanLayout.SrvNotifyOffset], (byte)VchanNotify.Write);
    }

    /// <summary>Sets this end's live byte to 0 (closing); the peer sees it after the next event.</summary>
    public void MarkClosed() =>
        Volatile.Write(ref _page[_role == VchanRole.Server ? VchanLayout.SrvLiveOffset : VchanLayout.CliLiveOffset], (byte)VchanLiveState.Exited);

    /// <summary>
    /// Asks the peer for an event when it does <paramref name="bits"/> (<c>request_notify</c>): an atomic or into the
    /// byte the peer reads, then a full fence, so a caller that reads the indices again afterwards cannot miss a move.
    /// </summary>
    public void RequestNotify(VchanNotify bits)
    {
        ref byte target = ref _page[_role == VchanRole.Server ? VchanLayout.CliNotifyOffset : VchanLayout.SrvNotifyOffset];
        byte seen = Volatile.Read(ref target);
        while (true)
        {
            byte was = Interlocked.CompareExchange(ref target, (byte)(seen | (byte)bits), seen); // __sync_or_and_fetch
            if (was == seen)
            {
                break;
            }

            seen = was;
        }

        Interlocked.MemoryBarrier(); // xen_mb(): the request before the indices are read again
    }

    /// <summary>
    /// After this end moved an index (<c>send_notify</c>): a full fence, then atomically clears <paramref name="bits"/>
    /// in the byte the peer set for us.
    /// </summary>
    /// <returns>Whether the peer had asked for them: then send it an event.</returns>
    public bool TakeNotifyRequest(VchanNotify bits)
    {
        Interlocked.MemoryBarrier(); // xen_mb(): the index update before the request is looked at
        ref byte target = ref _page[_role == VchanRole.Server ? VchanLayout.SrvNotifyOffset : VchanLayout.CliNotifyOffset];
        byte seen = Volatile.Read(ref target);
        if ((seen & (byte)bits) == 0)
        {
            // Not asked (the common case while both ends keep up): nothing to clear. A request the peer sets after
            // this read is followed by its own fence and re-read of the indices, which sees the move we published.
            return false;
        }

        while (true)
        {
            byte was = Interlocked.CompareExchange(ref target, (byte)(seen & ~(byte)bits), seen); // __sync_fetch_and_and
            if (was == seen)
            {
                return (was & (byte)bits) != 0;
            }

            seen = was;
        }
    }
}
