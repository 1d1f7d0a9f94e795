using Xen.Rings.Vchan;

namespace Xen.Rings.Host;

/// <summary>
/// The Xen resources of one end of a vchan, set up as libxenvchan sets them up: the shared page and the ring pages
/// (granted by the server, mapped by the client, each with the unmap notification that tells the peer this end is
/// gone, even by a crash) and the event channel (an unbound port the server offers, the client binds). Everything but
/// xenstore: the server advertises <see cref="RingRef"/> and <see cref="EventChannelPort.LocalPort"/> of
/// <see cref="Port"/> (as <c>ring-ref</c> and <c>event-channel</c>); the client is given them.
/// </summary>
/// <remarks>
/// <see cref="OpenStream"/> gives the connected <see cref="VchanStream"/>, which owns the endpoint from then on: disposing
/// the stream marks this end closed and then disposes the endpoint. Disposing unmaps the ring pages, then the shared
/// page (its notification clears this end's live byte and wakes the peer), then closes the event channel and the
/// library handles, in libxenvchan's order.
/// </remarks>
public sealed class VchanEndpoint : IAsyncDisposable, IDisposable
{
    private readonly IDisposable _grants; // the GrantSharer or GrantTable that made the mappings
    private readonly EventChannels _events;
    private readonly MappedPages _page;
    private readonly MappedPages? _left;
    private readonly MappedPages? _right;
    private int _disposed;

    private VchanEndpoint(VchanRole role, uint peerDomainId, uint ringRef, IDisposable grants, EventChannels events, EventChannelPort port, MappedPages page, MappedPages? left, MappedPages? right)
    {
        Role = role;
        PeerDomainId = peerDomainId;
        RingRef = ringRef;
        _grants = grants;
        _events = events;
        Port = port;
        _page = page;
        _left = left;
        _right = right;
    }

    /// <summary>Which end this is.</summary>
    public VchanRole Role { get; }

    /// <summary>The other domain.</summary>
    public uint PeerDomainId { get; }

    /// <summary>The grant ref of the shared page (what the server writes as <c>ring-ref</c>).</summary>
    public uint RingRef { get; }

    /// <summary>This end's event channel port (the server writes its number as <c>event-channel</c>).</summary>
    public EventChannelPort Port { get; }

    /// <summary>
    /// Server (<c>libxenvchan_server_init</c> without xenstore): binds an unbound port for <paramref name="clientDomainId"/>,
    /// grants it the shared page with an unshare notification on <c>srv_live</c> and that port, writes the header
    /// (<see cref="VchanInterface.InitializeServer"/>), and grants the pages of rings of order 12 and more, their refs
    /// in <c>grants[]</c>.
    /// </summary>
    /// <param name="clientDomainId">The domain that will connect.</param>
    /// <param name="leftOrder">log2 of the client-to-server ring's size (10..20).</param>
    /// <param name="rightOrder">log2 of the server-to-client ring's size (10..20; not the same in-page order as the left).</param>
    /// <exception cref="ArgumentOutOfRangeException">The orders are not a pair a server can set up (<see cref="VchanLayout.IsServablePair"/>).</exception>
    /// <exception cref="XenHostException">A library call failed (nothing is left allocated).</exception>
    /// <exception cref="DllNotFoundException">Xen's tool libraries are not installed.</exception>
    public static VchanEndpoint Share(uint clientDomainId, int leftOrder, int rightOrder)
    {
        if (!VchanLayout.IsServablePair(leftOrder, rightOrder))
        {
            throw new ArgumentOutOfRangeException(nameof(leftOrder), $"Ring orders {leftOrder} and {rightOrder} are not a vchan pair a server can set up (10..20 each, not both the same in-page order, the grant list ending before any in-page ring).");
        }

        var undo = new Stack<IDisposable>();
        try
        {
            EventChannels events = Push(undo, EventChannels.Open());
            EventChannelPort port = Push(undo, events.BindUnboundPort(clientDomainId));
            GrantSharer sharer = Push(undo, GrantSharer.Open());
            MappedPages page = Push(undo, sharer.SharePageNotify(clientDomainId, VchanLayout.SrvLiveOffset, port.LocalPort));
            var shared = new VchanInterface(page.GetSpan(), VchanRole.Server);
            shared.InitializeServer(leftOrder, rightOrder);
            MappedPages? left = ShareRing(undo, sharer, clientDomainId, leftOrder, shared.Grants);
            MappedPages? right = ShareRing(undo, sharer, clientDomainId, rightOrder, shared.Grants[VchanLayout.PageCount(leftOrder)..]);
            return new VchanEndpoint(VchanRole.Server, clientDomainId, page.GrantRefs[0], sharer, events, port, page, left, right);
        }
        catch
        {
            while (undo.Count > 0)
            {
                undo.Pop().Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Client (<c>libxenvchan_client_init</c> after reading xenstore): binds <paramref name="serverPort"/> of
    /// <paramref name="serverDomainId"/>, maps its shared page <paramref name="ringRef"/> with an unmap notification on
    /// <c>cli_live</c> and the bound port, checks the orders the server wrote, and maps the ring pages it lists (the
    /// ring the client writes read-write, the one it reads read-only).
    /// </summary>
    /// <exception cref="RingCorruptedException">The server's page gives orders that are not a valid pair, or a grant list longer than the page.</exception>
    /// <exception cref="XenHostException">A library call failed, e.g. no such port or grant (nothing is left mapped).</exception>
    /// <exception cref="DllNotFoundException">Xen's tool libraries are not installed.</exception>
    public static VchanEndpoint Map(uint serverDomainId, uint ringRef, uint serverPort)
    {
        var undo = new Stack<IDisposable>();
        try
        {
            EventChannels events = Push(undo, EventChannels.Open());
            EventChannelPort port = Push(undo, events.BindInterdomain(serverDomainId, serverPort));
            GrantTable table = Push(undo, GrantTable.Open());
            MappedPages page = Push(undo, table.MapGrantRefNotify(serverDomainId, ringRef, VchanLayout.CliLiveOffset, port.LocalPort));
            var shared = new VchanInterface(page.GetSpan(), VchanRole.Client);
            int leftOrder = shared.LeftOrder;
            int rightOrder = shared.RightOrder;
            if (!VchanLayout.IsValidOrderPair(leftOrder, rightOrder))
            {
                throw new RingCorruptedException($"Domain {serverDomainId}'s vchan page (ref {ringRef}) gives ring orders {leftOrder} (left) and {rightOrder} (right); each must be 10..20, and not both the same in-page order.");
            }

            // Copied out before mapping: the server could rewrite them between our check and our use.
            uint[] grants = shared.Grants[..(VchanLayout.PageCount(leftOrder) + VchanLayout.PageCount(rightOrder))].ToArray();
            int leftPages = VchanLayout.PageCount(leftOrder);
            MappedPages? left = leftPages == 0 ? null : Push(undo, table.MapGrantRefs(serverDomainId, grants.AsSpan(0, leftPages), writable: true));
            MappedPages? right = VchanLayout.PageCount(rightOrder) == 0 ? null
                : Push(undo, table.MapGrantRefs(serverDomainId, grants.AsSpan(leftPages), writable: false));
            return new VchanEndpoint(VchanRole.Client, serverDomainId, ringRef, table, events, port, page, left, right);
        }
        catch
        {
            while (undo.Count > 0)
            {
                undo.Pop().Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// The connected stream over this endpoint; from then on the stream owns it (and <paramref name="alsoOwned"/>, disposed
    /// after it: a server's xenstore nodes, say). For the client this is the moment of connecting: <c>cli_live</c> = 1,
    /// <c>srv_notify</c> = WRITE and an event to the server.
    /// </summary>
    /// <exception cref="RingCorruptedException">The orders in the page changed since the endpoint was made (a hostile server).</exception>
    /// <exception cref="InvalidOperationException">A stream was opened already.</exception>
    public VchanStream OpenStream(IAsyncDisposable? alsoOwned = null)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        VchanStream stream = VchanStream.Create(Role, _page.Memory, _left?.Memory ?? default, _right?.Memory ?? default, Port,
            alsoOwned is null ? this : new Both(this, alsoOwned));
        if (Role == VchanRole.Client)
        {
            new VchanInterface(_page.GetSpan(), VchanRole.Client).MarkClientConnected();
            Port.Notify(); // wake the server
        }

        return stream;
    }

    /// <summary>Unmaps or unshares everything and closes the event channel (libxenvchan's order: rings, page, port).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        ((IDisposable?)_left)?.Dispose();
        ((IDisposable?)_right)?.Dispose();
        ((IDisposable)_page).Dispose(); // the unmap notification: this end's live byte cleared, the peer woken
        Port.Dispose();
        _events.Dispose();
        _grants.Dispose();
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static T Push<T>(Stack<IDisposable> undo, T item)
        where T : IDisposable
    {
        undo.Push(item);
        return item;
    }

    private static MappedPages? ShareRing(Stack<IDisposable> undo, GrantSharer sharer, uint domainId, int order, Span<uint> grants)
    {
        int pages = VchanLayout.PageCount(order);
        if (pages == 0)
        {
            return null;
        }

        MappedPages ring = Push(undo, sharer.SharePages(domainId, pages));
        ring.GrantRefs.CopyTo(grants);
        return ring;
    }

    private sealed class Both(VchanEndpoint endpoint, IAsyncDisposable then) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            endpoint.Dispose();
            await then.DisposeAsync().ConfigureAwait(false);
        }
    }
}
