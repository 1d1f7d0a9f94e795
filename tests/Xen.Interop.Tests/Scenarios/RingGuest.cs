using Xen.Rings.Memory;
using Xen.Rings.Shim;
using Xen.Store.Client;
using Xen.Store.Transports;
using Xen.Store.Wire;

namespace Xen.Interop.Tests.Scenarios;

/// <summary>
/// A guest domain speaking xenstore over the shared ring to a real daemon under the shim, built only from the
/// library: dom0 creates the guest's home and sends INTRODUCE (<see cref="XenStoreClient.IntroduceAsync"/>), then
/// the guest maps the page the daemon mapped (<c>xs-ring-&lt;domid&gt;</c>), binds its event channel
/// (<see cref="ShimEventChannels.BindGuest"/>) and runs a <see cref="XenStoreClient"/> over
/// <see cref="XenStoreRingTransport"/>.
/// </summary>
public sealed class RingGuest : IAsyncDisposable
{
    private readonly ShimGuestDomain _domain;
    private readonly SharedPage _page;

    private RingGuest(uint domainId, uint port, ShimGuestDomain domain, SharedPage page, XenStoreClient client)
    {
        DomainId = domainId;
        Port = port;
        _domain = domain;
        _page = page;
        Client = client;
    }

    /// <summary>The guest's domain id.</summary>
    public uint DomainId { get; }

    /// <summary>The guest-side port of its xenstore event channel.</summary>
    public uint Port { get; }

    /// <summary>The guest's xenstore connection (over the ring).</summary>
    public XenStoreClient Client { get; }

    /// <summary>The guest's home, <c>/local/domain/&lt;domid&gt;</c>.</summary>
    public string Home => XsPath.DomainPath(DomainId);

    /// <summary>
    /// Introduces domain <paramref name="domainId"/> the way a toolstack does (its home first, owned by the
    /// guest and private to it, then INTRODUCE with gfn 0 and event channel <paramref name="port"/>) and connects
    /// it over its ring.
    /// </summary>
    /// <param name="dom0">A privileged connection to the daemon.</param>
    /// <param name="stateDirectory">The shim's state directory (page files and event-channel sockets).</param>
    /// <param name="domainId">The guest's domain id.</param>
    /// <param name="port">The guest-side port of the xenstore event channel.</param>
    /// <param name="cancellationToken">Cancels the dom0 requests.</param>
    public static async Task<RingGuest> IntroduceAsync(XenStoreClient dom0, string stateDirectory, uint domainId, uint port, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dom0);
        string home = XsPath.DomainPath(domainId);
        await dom0.MkdirAsync(home, cancellationToken);
        await dom0.SetPermissionsAsync(home, [new XsPermission(XsAccess.None, checked((ushort)domainId))], cancellationToken);

        // The guest listens before INTRODUCE, so no notification the daemon sends on introduction is lost.
        ShimGuestDomain domain = ShimEventChannels.BindGuest(stateDirectory, domainId);
        SharedPage? page = null;
        try
        {
            await dom0.IntroduceAsync(domainId, 0, port, cancellationToken);

            // The daemon maps the page through the shim on INTRODUCE, which creates the zeroed page file.
            page = SharedPage.MapFile(Path.Combine(stateDirectory, $"xs-ring-{domainId}"));
            var transport = new XenStoreRingTransport(page.Memory, domain.OpenChannel(port), ownsChannel: true);
            return new RingGuest(domainId, port, domain, page, XenStoreClient.Create(transport));
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
        await Client.DisposeAsync();
        _domain.Dispose();
        ((IDisposable)_page).Dispose();
    }
}
