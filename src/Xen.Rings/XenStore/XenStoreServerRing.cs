namespace Xen.Rings.XenStore;

/// <summary>
/// xenstored's view of a guest's xenstore page: it reads requests from <c>req[]</c>, writes replies and
/// watch events to <c>rsp[]</c>, and owns <c>server_features</c>, <c>error</c> and the server half of the
/// reconnection handshake. Stateless over shared memory and allocation-free.
/// </summary>
/// <remarks>
/// When a read or write finds the guest's indices inconsistent, the view sets <c>error</c> to
/// <see cref="XenStoreRingError.RingIndex"/> (as <c>XENSTORE_SERVER_FEATURE_ERROR</c> describes) before
/// throwing <see cref="RingCorruptedException"/>; the server should then stop serving the ring.
/// </remarks>
public readonly ref struct XenStoreServerRing
{
    private readonly Span<byte> _page;

    /// <summary>Creates the view over a xenstore page.</summary>
    /// <param name="page">The page (at least 2080 bytes; normally 4096).</param>
    /// <exception cref="ArgumentException">The page is too small.</exception>
    public XenStoreServerRing(Span<byte> page)
    {
        XenStoreRingLayout.CheckPage(page.Length, nameof(page));
        _page = page;
    }

    /// <summary>The <c>req[]</c> ring (the server consumes). Its methods do not set <c>error</c>; <see cref="Read"/> does.</summary>
    public ByteRing Requests => new(_page, XenStoreRingLayout.RequestOffset, XenStoreRingLayout.RingSize,
        XenStoreRingLayout.ReqConsOffset, XenStoreRingLayout.ReqProdOffset, "req");

    /// <summary>The <c>rsp[]</c> ring (the server produces). Its methods do not set <c>error</c>; <see cref="Write"/> does.</summary>
    public ByteRing Responses => new(_page, XenStoreRingLayout.ResponseOffset, XenStoreRingLayout.RingSize,
        XenStoreRingLayout.RspConsOffset, XenStoreRingLayout.RspProdOffset, "rsp");

    /// <summary>The <c>server_features</c> field.</summary>
    public XenStoreServerFeatures ServerFeatures
    {
        get => (XenStoreServerFeatures)Volatile.Read(ref Field(XenStoreRingLayout.ServerFeaturesOffset));
        set => Volatile.Write(ref Field(XenStoreRingLayout.ServerFeaturesOffset), (uint)value);
    }

    /// <summary>The <c>connection</c> field as the guest left it.</summary>
    public XenStoreConnectionState Connection => (XenStoreConnectionState)Volatile.Read(ref Field(XenStoreRingLayout.ConnectionOffset));

    /// <summary>The <c>error</c> field.</summary>
    public XenStoreRingError Error
    {
        get => (XenStoreRingError)Volatile.Read(ref Field(XenStoreRingLayout.ErrorOffset));
        set => Volatile.Write(ref Field(XenStoreRingLayout.ErrorOffset), (uint)value);
    }

    /// <summary>The <c>evtchn_port</c> field (Xen 4.21+).</summary>
    public uint EvtchnPort
    {
        get => Volatile.Read(ref Field(XenStoreRingLayout.EvtchnPortOffset));
        set => Volatile.Write(ref Field(XenStoreRingLayout.EvtchnPortOffset), value);
    }

    /// <summary>Whether the guest has asked for a reconnection (<c>connection == XENSTORE_RECONNECT</c>).</summary>
    public bool IsReconnectRequested => Connection == XenStoreConnectionState.Reconnect;

    /// <summary>
    /// Reads up to <c>destination.Length</c> request bytes from <c>req[]</c>.
    /// </summary>
    /// <returns>Bytes read.</returns>
    /// <exception cref="RingCorruptedException">The guest corrupted the <c>req</c> indices; <c>error</c> is now RINGIDX.</exception>
    public int Read(Span<byte> destination)
    {
        try
        {
            return Requests.Read(destination);
        }
        catch (RingCorruptedException)
        {
            Error = XenStoreRingError.RingIndex;
            throw;
        }
    }

    /// <summary>Writes as much of <paramref name="source"/> to <c>rsp[]</c> as fits.</summary>
    /// <returns>Bytes written.</returns>
    /// <exception cref="RingCorruptedException">The guest corrupted the <c>rsp</c> indices; <c>error</c> is now RINGIDX.</exception>
    public int Write(ReadOnlySpan<byte> source)
    {
        try
        {
            return Responses.Write(source);
        }
        catch (RingCorruptedException)
        {
            Error = XenStoreRingError.RingIndex;
            throw;
        }
    }

    /// <summary>
    /// Completes the server half of a reconnection: zeroes all four indices and <c>error</c>, then sets
    /// <c>connection</c> to <c>XENSTORE_CONNECTED</c> (last, so the guest sees clean indices once it sees it).
    /// The caller must already have dropped its partial packets, watches and transactions for this guest,
    /// and notifies the guest afterwards.
    /// </summary>
    public void CompleteReconnect()
    {
        Requests.Reset();
        Responses.Reset();
        Error = XenStoreRingError.None;
        Volatile.Write(ref Field(XenStoreRingLayout.ConnectionOffset), (uint)XenStoreConnectionState.Connected);
    }

    private ref uint Field(int offset) => ref ByteRing.IndexAt(_page, offset);
}
