using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Blktap.DeviceStore;

/// <summary>
/// <see cref="IDeviceStore"/> over a <see cref="XenStoreClient"/> connection (dom0's, or a driver domain's with the
/// rights to the paths it touches). The connection stays the caller's: disposing this does nothing to it.
/// </summary>
public sealed class XenStoreDeviceStore : IDeviceStore
{
    private readonly XenStoreClient _client;
    private readonly TransactionRetryPolicy? _retryPolicy;

    /// <summary>Uses <paramref name="client"/>; transactions conflicting with EAGAIN retry as <paramref name="retryPolicy"/> allows (default: <see cref="TransactionRetryPolicy.Default"/>).</summary>
    public XenStoreDeviceStore(XenStoreClient client, TransactionRetryPolicy? retryPolicy = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _retryPolicy = retryPolicy;
    }

    /// <inheritdoc/>
    public ValueTask<string?> ReadAsync(string path, CancellationToken cancellationToken = default) => Read(_client, path, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<string>> ListAsync(string path, CancellationToken cancellationToken = default) => List(_client, path, cancellationToken);

    /// <inheritdoc/>
    public ValueTask WriteAsync(string path, string value, CancellationToken cancellationToken = default) => _client.WriteAsync(path, value, cancellationToken);

    /// <inheritdoc/>
    public ValueTask RemoveAsync(string path, CancellationToken cancellationToken = default) => Remove(_client, path, cancellationToken);

    /// <inheritdoc/>
    public ValueTask SetPermissionsAsync(string path, IReadOnlyList<XsPermission> permissions, CancellationToken cancellationToken = default) =>
        _client.SetPermissionsAsync(path, permissions, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<T> RunTransactionAsync<T>(Func<IDeviceStoreOperations, CancellationToken, ValueTask<T>> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return _client.RunTransactionAsync((transaction, token) => body(new TransactionOperations(transaction), token), _retryPolicy, cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask<IDeviceStoreWatch> WatchAsync(string path, CancellationToken cancellationToken = default) =>
        new Watch(await _client.WatchAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false));

    private static async ValueTask<string?> Read(XenStoreOperations operations, string path, CancellationToken cancellationToken) =>
        await operations.TryReadStringAsync(path, cancellationToken).ConfigureAwait(false);

    private static async ValueTask<IReadOnlyList<string>> List(XenStoreOperations operations, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await operations.DirectoryAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (XenStoreErrorException e) when (e.Error == XsError.ENOENT)
        {
            return [];
        }
    }

    private static async ValueTask Remove(XenStoreOperations operations, string path, CancellationToken cancellationToken)
    {
        try
        {
            await operations.RemoveAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (XenStoreErrorException e) when (e.Error == XsError.ENOENT)
        {
            // The parent is gone as well: nothing is left to remove.
        }
    }

    private sealed class TransactionOperations(XenStoreTransaction transaction) : IDeviceStoreOperations
    {
        public ValueTask<string?> ReadAsync(string path, CancellationToken cancellationToken = default) => Read(transaction, path, cancellationToken);

        public ValueTask<IReadOnlyList<string>> ListAsync(string path, CancellationToken cancellationToken = default) => List(transaction, path, cancellationToken);

        public ValueTask WriteAsync(string path, string value, CancellationToken cancellationToken = default) => transaction.WriteAsync(path, value, cancellationToken);

        public ValueTask RemoveAsync(string path, CancellationToken cancellationToken = default) => Remove(transaction, path, cancellationToken);

        public ValueTask SetPermissionsAsync(string path, IReadOnlyList<XsPermission> permissions, CancellationToken cancellationToken = default) =>
            transaction.SetPermissionsAsync(path, permissions, cancellationToken);
    }

    private sealed class Watch(XenStoreWatch watch) : IDeviceStoreWatch
    {
        public async ValueTask WaitAsync(CancellationToken cancellationToken = default) =>
            await watch.ReadAsync(cancellationToken).ConfigureAwait(false);

        public ValueTask DisposeAsync() => watch.DisposeAsync();
    }
}
