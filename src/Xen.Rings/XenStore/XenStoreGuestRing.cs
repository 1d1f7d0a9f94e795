namespace Xen.Rings.XenStore;

/// <summary>
/// The guest's view of a xenstore page: it writes requests to <c>req[]</c> and reads replies and watch
/// events from <c>rsp[]</c>. Stateless over shared memory and allocation-free.
/// </summary>
/// <remarks>
/// The reconnection handshake (<c>docs/misc/xenstore-ring.txt</c>), guest half: check
/// <see cref="ServerFeatures"/> for <see cref="XenStoreServerFeatures.Reconnection"/>, call
/// <see cref="RequestReconnect"/>, notify the event channel, then wait (on notifications) until
/// <see cref="IsReconnectComplete"/>. The server then has dropped partial packets, watches and transactions
/// and zeroed the indices. None of the methods notify the server.
/// </remarks>
public readonly ref struct XenStoreGuestRing
{
    private readonly Span<byte> _page;

    /// <summary>Creates the view over a xenstore page.</summary>
    /// <param name="page">The page (at least 2080 bytes; normally 4096).</param>
    /// <exception cref="ArgumentException">The page is too small.</exception>
    public XenStoreGuestRing(Span<byte> page)
    {
        XenStoreRingLayout.CheckPage(page.Length, nameof(page));
        _page = page;
    }

    /// <summary>The <c>req[]</c> ring (the guest produces).</summary>
    public ByteRing Requests => new(_page, XenStoreRingLayout.RequestOffset, XenStoreRingLayout.RingSize,
        XenStoreRingLayout.ReqConsOffset, XenStoreRingLayout.ReqProdOffset, "req");

    /// <summary>The <c>rsp[]</c> ring (the guest consumes).</summary>
    public ByteRing Responses => new(_page, XenStoreRingLayout.ResponseOffset, XenStoreRingLayout.RingSize,
        XenStoreRingLayout.RspConsOffset, XenStoreRingLayout.RspProdOffset, "rsp");

    /// <summary>The server's <c>server_features</c>.</summary>
    public XenStoreServerFeatures ServerFeatures => (XenStoreServerFeatures)Volatile.Read(ref Field(XenStoreRingLayout.ServerFeaturesOffset));

    /// <summary>The <c>connection</c> field.</summary>
    public XenStoreConnectionState Connection => (XenStoreConnectionState)Volatile.Read(ref Field(XenStoreRingLayout.ConnectionOffset));

    /// <summary>The server's <c>error</c> field: non-zero when the server found the ring broken.</summary>
    public XenStoreRingError Error => (XenStoreRingError)Volatile.Read(ref Field(XenStoreRingLayout.ErrorOffset));

    /// <summary>The <c>evtchn_port</c> field (Xen 4.21+; 0 when not provided).</summary>
    public uint EvtchnPort => Volatile.Read(ref Field(XenStoreRingLayout.EvtchnPortOffset));

    /// <summary>Writes as much of <paramref name="source"/> to <c>req[]</c> as fits.</summary>
    /// <returns>Bytes written.</returns>
    /// <exception cref="RingCorruptedException">The server corrupted the <c>req</c> indices.</exception>
    public int Write(ReadOnlySpan<byte> source) => Requests.Write(source);

    /// <summary>Reads up to <c>destination.Length</c> bytes from <c>rsp[]</c>.</summary>
    /// <returns>Bytes read.</returns>
    /// <exception cref="RingCorruptedException">The server corrupted the <c>rsp</c> indices.</exception>
    public int Read(Span<byte> destination) => Responses.Read(destination);

    /// <summary>
    /// Starts the reconnection handshake: sets <c>connection</c> to <c>XENSTORE_RECONNECT</c>. Notify the server next.
    /// </summary>
    /// <exception cref="InvalidOperationException">The server does not advertise <see cref="XenStoreServerFeatures.Reconnection"/>.</exception>
    public void RequestReconnect()
    {
        if ((ServerFeatures & XenStoreServerFeatures.Reconnection) == 0)
        {
            ThrowHelper.ThrowInvalidOperation("The xenstore server does not advertise XENSTORE_SERVER_FEATURE_RECONNECTION.");
        }

        Volatile.Write(ref Field(XenStoreRingLayout.ConnectionOffset), (uint)XenStoreConnectionState.Reconnect);
    }

    /// <summary>Whether the server has completed a reconnection (set <c>connection</c> back to <c>XENSTORE_CONNECTED</c>).</summary>
    public bool IsReconnectComplete => Connection == XenStoreConnectionState.Connected;

    private ref uint Field(int offset) => ref ByteRing.IndexAt(_page, offset);
}
