using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Server.Hosting;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// Our <see cref="XenStoreServer"/> hosted in the test process as the xenstore of the shimmed real programs: it
/// listens on the socket of a <see cref="XenstoredPeer"/> of kind <see cref="XenstoredKind.External"/>, and its
/// peer directory is that peer's state directory, so INTRODUCE maps <c>xs-ring-D</c> and binds <c>port-D-P</c>
/// there as the real daemons do under the shim.
/// </summary>
internal sealed class EmbeddedStore : IAsyncDisposable
{
    private EmbeddedStore(XenStoreServer server, XenstoredPeer peer)
    {
        Server = server;
        Peer = peer;
    }

    /// <summary>The server under test.</summary>
    public XenStoreServer Server { get; }

    /// <summary>The state directory, the shim and the programs started under it (<see cref="XenstoredPeer.StartShimmed"/>).</summary>
    public XenstoredPeer Peer { get; }

    /// <summary>The shim's state directory.</summary>
    public string StateDirectory => Peer.StateDirectory;

    /// <summary>Starts the server on a fresh state directory.</summary>
    public static async Task<EmbeddedStore> StartAsync(XenStoreQuotas? quotas = null)
    {
        XenStoreServer? server = null;
        XenstoredPeer peer = await XenstoredPeer.HostExternallyAsync(async (directory, socket) =>
        {
            server = await XenStoreServer.StartAsync(new XenStoreServerOptions
            {
                Host = new ShimXenStoreHost(directory),
                Quotas = quotas ?? new XenStoreQuotas(),
            });
            await server.ListenUnixAsync(socket);
        });
        return new EmbeddedStore(server!, peer);
    }

    /// <summary>A privileged (dom0) client in process.</summary>
    public XenStoreClient ConnectDom0() => XenStoreClient.Create(Server.ConnectInProcess());

    /// <summary>Stops the programs started under the shim, then the server, and removes the state directory.</summary>
    public async ValueTask DisposeAsync()
    {
        // The programs go first so none of them sees its xenstore vanish while it still runs.
        await Peer.DisposeAsync();
        await Server.DisposeAsync();
    }
}
