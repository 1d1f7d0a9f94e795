using System.Globalization;
using Xen.Rings.Host;
using Xen.Rings.Vchan;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Store.Vchan;

/// <summary>
/// The server end of a vchan (<c>libxenvchan_server_init</c>): shares the rings with one client domain and advertises
/// them in xenstore under a path both ends agree on (<see cref="VchanPaths.Qubes"/> is Qubes' convention).
/// </summary>
public static class VchanServer
{
    /// <summary>The node under the vchan's path holding the shared page's grant ref.</summary>
    public const string RingRefNode = "ring-ref";

    /// <summary>The node under the vchan's path holding the server's event channel port.</summary>
    public const string EventChannelNode = "event-channel";

    /// <summary>
    /// Shares a vchan with <paramref name="clientDomainId"/> and publishes it: grants the shared page and ring pages,
    /// binds an unbound port for the client, and writes <c>&lt;path&gt;/ring-ref</c> and <c>&lt;path&gt;/event-channel</c>
    /// in one transaction, owned by this domain (its relative <c>domid</c> node) and readable by the client, as
    /// libxenvchan does. Returns at once, before the client connects (like libxenvchan, the stream is usable: writes
    /// fill the ring, reads wait); <see cref="VchanStream.WaitForConnectionAsync"/> waits for the client.
    /// </summary>
    /// <param name="store">The xenstore connection to publish with; it must stay open while the stream is (closing the
    /// stream removes <paramref name="path"/> through it).</param>
    /// <param name="clientDomainId">The domain allowed to connect.</param>
    /// <param name="path">The vchan's xenstore directory.</param>
    /// <param name="leftMinBytes">The least size of the client-to-server ring (the server's reads), up to 1 MiB.</param>
    /// <param name="rightMinBytes">The least size of the server-to-client ring (the server's writes), up to 1 MiB.</param>
    /// <param name="cancellationToken">Cancels the xenstore part (then nothing stays shared or published).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative or above 1 MiB.</exception>
    /// <exception cref="XenHostException">Xen refused a grant or a port.</exception>
    /// <exception cref="XenStoreException">xenstore refused the nodes (e.g. EACCES), or this domain has no <c>domid</c> node (ENOENT).</exception>
    /// <exception cref="InvalidDataException">This domain's <c>domid</c> node is not a number.</exception>
    public static async ValueTask<VchanStream> ListenAsync(XenStoreClient store, uint clientDomainId, string path, int leftMinBytes, int rightMinBytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        XsPath.Validate(path);
        (int leftOrder, int rightOrder) = VchanLayout.ChooseOrders(leftMinBytes, rightMinBytes);
        VchanEndpoint endpoint = VchanEndpoint.Share(clientDomainId, leftOrder, rightOrder);
        try
        {
            ushort owner = await ReadOwnDomainIdAsync(store, cancellationToken).ConfigureAwait(false);
            XsPermission[] permissions = [new(XsAccess.None, owner), new(XsAccess.Read, checked((ushort)clientDomainId))];
            string ringRef = endpoint.RingRef.ToString(CultureInfo.InvariantCulture);
            string port = endpoint.Port.LocalPort.ToString(CultureInfo.InvariantCulture);
            await store.RunTransactionAsync(async (tx, token) =>
            {
                await tx.WriteAsync($"{path}/{RingRefNode}", ringRef, token).ConfigureAwait(false);
                await tx.SetPermissionsAsync($"{path}/{RingRefNode}", permissions, token).ConfigureAwait(false);
                await tx.WriteAsync($"{path}/{EventChannelNode}", port, token).ConfigureAwait(false);
                await tx.SetPermissionsAsync($"{path}/{EventChannelNode}", permissions, token).ConfigureAwait(false);
                return true;
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return endpoint.OpenStream(new PublishedNodes(store, path));
    }

    private static async ValueTask<ushort> ReadOwnDomainIdAsync(XenStoreClient store, CancellationToken cancellationToken)
    {
        // libxenvchan reads the relative node "domid" (the toolstack writes it for every domain, xen-init-dom0 for dom0).
        string text = await store.ReadStringAsync("domid", cancellationToken).ConfigureAwait(false);
        return ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ushort domid)
            ? domid
            : throw new InvalidDataException($"This domain's xenstore node 'domid' holds '{text}', not a domain id.");
    }

    /// <summary>The server's nodes, removed when its stream closes (<c>close_xs_srv</c>: best effort, as there).</summary>
    private sealed class PublishedNodes(XenStoreClient store, string path) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await store.RemoveAsync(path).ConfigureAwait(false);
            }
            catch (Exception e) when (e is XenStoreException or ObjectDisposedException)
            {
                // The store connection is gone or refused: nothing more this end can do, and the vchan is closed anyway.
            }
        }
    }
}
