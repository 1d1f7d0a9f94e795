using System.Globalization;
using Xen.Rings;
using Xen.Rings.Host;
using Xen.Rings.Vchan;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Store.Vchan;

/// <summary>
/// The client end of a vchan (<c>libxenvchan_client_init</c>): reads the server's <c>ring-ref</c> and
/// <c>event-channel</c>, maps the shared page (its unmap notification clears <c>cli_live</c>, so the server learns of
/// our exit even by a crash), binds the port, maps the ring pages and marks itself connected.
/// </summary>
public static class VchanClient
{
    /// <summary>
    /// Connects to the vchan domain <paramref name="serverDomainId"/> published at <paramref name="path"/>, once: fails
    /// at once when it is not there (as <c>libxenvchan_client_init</c> does).
    /// </summary>
    /// <param name="store">The xenstore connection to read with (not needed after this returns).</param>
    /// <param name="serverDomainId">The server's domain.</param>
    /// <param name="path">The vchan's xenstore directory.</param>
    /// <param name="cancellationToken">Cancels the xenstore reads.</param>
    /// <exception cref="XenStoreErrorException">ENOENT: no server has published there (or EACCES: not for us).</exception>
    /// <exception cref="InvalidDataException">The nodes do not hold a grant ref and a port.</exception>
    /// <exception cref="RingCorruptedException">The server's page is not a valid vchan page.</exception>
    /// <exception cref="XenHostException">Xen refused to map the grants or bind the port.</exception>
    public static async ValueTask<VchanStream> ConnectAsync(XenStoreClient store, uint serverDomainId, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        XsPath.Validate(path);
        uint ringRef = await ReadNonZeroAsync(store, $"{path}/{VchanServer.RingRefNode}", cancellationToken).ConfigureAwait(false);
        uint port = await ReadNonZeroAsync(store, $"{path}/{VchanServer.EventChannelNode}", cancellationToken).ConfigureAwait(false);
        VchanEndpoint endpoint = VchanEndpoint.Map(serverDomainId, ringRef, port);
        try
        {
            return endpoint.OpenStream();
        }
        catch
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Connects as soon as the server has published (what <c>vchan-socket-proxy</c>'s client does): watches
    /// <paramref name="path"/> and tries on every change, until it connects or <paramref name="cancellationToken"/> is
    /// cancelled (bound the wait with it).
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled before a server was there.</exception>
    /// <exception cref="InvalidDataException">The nodes do not hold a grant ref and a port.</exception>
    /// <exception cref="RingCorruptedException">The server's page is not a valid vchan page.</exception>
    /// <exception cref="XenStoreException">The watch failed, or a read failed with anything but ENOENT.</exception>
    public static async ValueTask<VchanStream> ConnectWhenPublishedAsync(XenStoreClient store, uint serverDomainId, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        XsPath.Validate(path);
        await using XenStoreWatch watch = await store.WatchAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        while (true)
        {
            _ = await watch.ReadAsync(cancellationToken).ConfigureAwait(false); // the first event fires at once
            try
            {
                return await ConnectAsync(store, serverDomainId, path, cancellationToken).ConfigureAwait(false);
            }
            catch (XenStoreErrorException e) when (e.Error == XsError.ENOENT)
            {
                // Not (all) written yet: the server's transaction commits both nodes at once, so the next event has them.
            }
            catch (XenHostException)
            {
                // Nodes left behind by a server that died: wait for a new one to publish over them.
            }
        }
    }

    private static async ValueTask<uint> ReadNonZeroAsync(XenStoreClient store, string node, CancellationToken cancellationToken)
    {
        string text = await store.ReadStringAsync(node, cancellationToken).ConfigureAwait(false);
        return uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint value) && value != 0
            ? value
            : throw new InvalidDataException($"{node} holds '{text}'; a vchan server writes a non-zero number there.");
    }
}
