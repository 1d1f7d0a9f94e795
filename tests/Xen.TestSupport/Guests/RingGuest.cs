using Xen.Rings.Memory;
using Xen.Rings.Shim;
using Xen.Store.Client;
using Xen.Store.Transports;
using Xen.Store.Wire;

namespace Xen.TestSupport.Guests;

/// <summary>
/// A guest domain's xenstore connection as a guest kernel has it, built only from the library: dom0 gives the guest
/// its home and sends INTRODUCE (<see cref="XenStoreClient.IntroduceAsync"/>); the guest runs a
/// <see cref="XenStoreClient"/> over <see cref="XenStoreRingTransport"/> on the page file <c>xs-ring-&lt;domid&gt;</c>,
/// kicking and woken through the shim's datagram sockets. Works with any server that follows the shim convention:
/// C xenstored and oxenstored under the shim, and ours with a shim host.
/// </summary>
public sealed class RingGuest : IAsyncDisposable
{
    private readonly SharedPage _page;

    private RingGuest(uint port, ShimGuestDomain domain, SharedPage page, XenStoreClient client)
    {
        Port = port;
        Domain = domain;
        _page = page;
        Client = client;
    }

    /// <summary>The guest's domain id.</summary>
    public uint DomainId => Domain.DomainId;

    /// <summary>The guest-side port of its xenstore event channel.</summary>
    public uint Port { get; }

    /// <summary>The guest's xenstore connection (over the ring).</summary>
    public XenStoreClient Client { get; }

    /// <summary>The guest's home, <c>/local/domain/&lt;domid&gt;</c>.</summary>
    public string Home => XsPath.DomainPath(DomainId);

    /// <summary>The guest's event-channel socket, on which it may open its other channels (a blkif frontend's).</summary>
    internal ShimGuestDomain Domain { get; }

    /// <summary>
    /// Introduces domain <paramref name="domainId"/> the way a toolstack does (its home first, owned by the guest and
    /// private to it, then INTRODUCE with gfn 0 and event channel <paramref name="port"/>) and connects it over its
    /// ring. The guest's event-channel socket is bound first, so no notification sent on introduction is lost.
    /// </summary>
    /// <param name="dom0">A privileged connection to the server.</param>
    /// <param name="stateDirectory">The shim's state directory (page files and event-channel sockets).</param>
    /// <param name="domainId">The guest's domain id.</param>
    /// <param name="port">The guest-side port of the xenstore event channel.</param>
    /// <param name="cancellationToken">Cancels the dom0 requests.</param>
    public static async Task<RingGuest> IntroduceAsync(XenStoreClient dom0, string stateDirectory, uint domainId, uint port, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dom0);
        ShimGuestDomain domain = ShimEventChannels.BindGuest(stateDirectory, domainId);
        SharedPage? page = null;
        try
        {
            // The home a toolstack makes first: owned by the guest, private to it (MKDIR leaves one that exists alone).
            string home = XsPath.DomainPath(domainId);
            await dom0.MkdirAsync(home, cancellationToken).ConfigureAwait(false);
            await dom0.SetPermissionsAsync(home, [new XsPermission(XsAccess.None, checked((ushort)domainId))], cancellationToken).ConfigureAwait(false);

            // The page is the guest's memory: zeroed, as a new guest's is, before the server maps it on INTRODUCE (the
            // shim and our shim host open the file as it is).
            string pagePath = Path.Combine(stateDirectory, $"xs-ring-{domainId}");
            await File.WriteAllBytesAsync(pagePath, new byte[SharedPage.PageSize], cancellationToken).ConfigureAwait(false);
            page = SharedPage.MapFile(pagePath);
            await dom0.IntroduceAsync(domainId, 0, port, cancellationToken).ConfigureAwait(false);
            var transport = new XenStoreRingTransport(page.Memory, domain.OpenChannel(port), ownsChannel: true);
            return new RingGuest(port, domain, page, XenStoreClient.Create(transport));
        }
        catch
        {
            if (page is not null)
            {
                ((IDisposable)page).Dispose();
            }

            domain.Dispose();
            throw;
        }
    }

    /// <summary>Closes the guest's connection, unbinds its event channel and unmaps its page.</summary>
    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync().ConfigureAwait(false);
        Domain.Dispose();
        ((IDisposable)_page).Dispose();
    }
}
