namespace Xen.Blktap.DeviceStore;

/// <summary>
/// A xenstore as the device lifecycle uses it: node operations, transactions retried on conflict, and watches.
/// <see cref="XenStoreDeviceStore"/> is the real one; tests may supply an in-memory one.
/// </summary>
public interface IDeviceStore : IDeviceStoreOperations
{
    /// <summary>
    /// Runs <paramref name="body"/> in a transaction and commits it, running it again in a new transaction when the
    /// commit conflicts (EAGAIN). Any other failure aborts the transaction and propagates.
    /// </summary>
    ValueTask<T> RunTransactionAsync<T>(Func<IDeviceStoreOperations, CancellationToken, ValueTask<T>> body, CancellationToken cancellationToken = default);

    /// <summary>Watches <paramref name="path"/> and everything below it. The first event may come at once.</summary>
    ValueTask<IDeviceStoreWatch> WatchAsync(string path, CancellationToken cancellationToken = default);
}
