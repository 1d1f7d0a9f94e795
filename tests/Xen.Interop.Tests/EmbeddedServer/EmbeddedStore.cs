using System.Globalization;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// Our xenstored as the xenstore of the shimmed real programs, started as a host starts it: a
/// <see cref="XenstoredPeer"/> of kind <see cref="XenstoredKind.Embedded"/> (<c>run_xenstored.sh ours</c>, under the
/// shim, no <c>--peer-dir</c>), so INTRODUCE maps grant ref 1 of the guest and binds its event channel through the
/// libraries C xenstored calls, which the shim turns into <c>xs-ring-D</c> and <c>port-D-P</c> in the state directory.
/// </summary>
internal sealed class EmbeddedStore : IAsyncDisposable
{
    private EmbeddedStore(XenstoredPeer peer) => Peer = peer;

    /// <summary>The daemon, its state directory, the shim and the programs started under it (<see cref="XenstoredPeer.StartShimmed"/>).</summary>
    public XenstoredPeer Peer { get; }

    /// <summary>The shim's state directory.</summary>
    public string StateDirectory => Peer.StateDirectory;

    /// <summary>Starts the daemon on a fresh state directory, with <paramref name="quotas"/> given as C xenstored's options.</summary>
    public static async Task<EmbeddedStore> StartAsync(XenStoreQuotas? quotas = null) =>
        new(await XenstoredPeer.StartAsync(XenstoredKind.Embedded, quotas is null ? [] : QuotaOptions(quotas)));

    /// <summary>A privileged (dom0) client over the daemon's socket.</summary>
    public async Task<XenStoreClient> ConnectDom0Async() => await XenStoreClient.ConnectAsync(Peer.SocketPath);

    /// <summary>Stops the programs started under the shim, then the daemon, and removes the state directory.</summary>
    public ValueTask DisposeAsync() => Peer.DisposeAsync();

    /// <summary>The quotas as <c>xenstored</c> options (<c>-E</c>, <c>-W</c>, <c>-t</c>, <c>-S</c>, <c>-M</c>, <c>-A</c>, <c>-Q</c>, <c>-q</c>).</summary>
    private static string[] QuotaOptions(XenStoreQuotas q) =>
    [
        "-E", Text(q.Nodes), "-W", Text(q.Watches), "-t", Text(q.Transactions), "-S", Text(q.NodeSize),
        "-M", Text(q.PathLength), "-A", Text(q.Permissions),
        "-Q", $"outstanding={Text(q.Outstanding)}", "-Q", $"transaction-nodes={Text(q.TransactionNodes)}",
        "-Q", $"memory={Text(q.Memory)}", "-q", $"memory={Text(q.SoftMemory)}",
    ];

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
