using Xen.Rings.Memory;
using Xen.Rings.Shim;
using Xen.Store.Client;
using Xen.Store.Transports;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// A guest domain's xenstore connection as a guest kernel has it: our <see cref="XenStoreClient"/> over
/// <see cref="XenStoreRingTransport"/> on the page file <c>xs-ring-&lt;domid&gt;</c>, kicking and woken through the
/// shim's datagram sockets, after dom0 has sent INTRODUCE. Works with any server that follows the shim convention
/// (our embedded one with a peer directory, C xenstored, oxenstored).
/// </summary>
internal sealed class RingGuest : IAsyncDisposable
{
    private readonly SharedPage _page;

    private RingGuest(SharedPage page, XenStoreClient client)
    {
        _page = page;
        Client = client;
    }

    /// <summary>The guest's client.</summary>
    public XenStoreClient Client { get; }

    /// <summary>Introduces the domain of <paramref name="domain"/> as dom0 and connects over its ring.</summary>
    /// <param name="dom0">A privileged connection to the server.</param>
    /// <param name="stateDirectory">The shim's state directory.</param>
    /// <param name="domain">The guest's bound event-channel socket.</param>
    /// <param name="port">The guest-side port of the xenstore event channel.</param>
    public static async Task<RingGuest> IntroduceAsync(XenStoreClient dom0, string stateDirectory, ShimGuestDomain domain, uint port)
    {
        string path = Path.Combine(stateDirectory, $"xs-ring-{domain.DomainId}");
        await File.WriteAllBytesAsync(path, new byte[SharedPage.PageSize]);
        SharedPage page = SharedPage.MapFile(path);
        try
        {
            await dom0.IntroduceAsync(domain.DomainId, 0, port);
            var transport = new XenStoreRingTransport(page.Memory, domain.OpenChannel(port), ownsChannel: true);
            return new RingGuest(page, XenStoreClient.Create(transport));
        }
        catch
        {
            ((IDisposable)page).Dispose();
            throw;
        }
    }

    /// <summary>Introduces the domain on our embedded server and connects over its ring.</summary>
    public static async Task<RingGuest> IntroduceAsync(EmbeddedStore store, ShimGuestDomain domain, uint port)
    {
        await using XenStoreClient dom0 = store.ConnectDom0();
        return await IntroduceAsync(dom0, store.StateDirectory, domain, port);
    }

    /// <summary>Closes the client and unmaps the page.</summary>
    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        ((IDisposable)_page).Dispose();
    }
}
