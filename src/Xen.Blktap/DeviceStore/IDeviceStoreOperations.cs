using Xen.Store.Wire;

namespace Xen.Blktap.DeviceStore;

/// <summary>
/// The xenstore node operations the device lifecycle needs, outside or inside a transaction. Paths are absolute.
/// Implementations report a daemon error as <see cref="Xen.Store.XenStoreErrorException"/> (EAGAIN from a
/// transaction is what <see cref="IDeviceStore.RunTransactionAsync{T}"/> retries).
/// </summary>
public interface IDeviceStoreOperations
{
    /// <summary>The node's value as text, or null when it does not exist.</summary>
    ValueTask<string?> ReadAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>The node's children's names; empty when the node does not exist.</summary>
    ValueTask<IReadOnlyList<string>> ListAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Sets the node's value, creating it and missing parents.</summary>
    ValueTask WriteAsync(string path, string value, CancellationToken cancellationToken = default);

    /// <summary>Removes the node and everything below it; a missing node is not an error.</summary>
    ValueTask RemoveAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Replaces the node's permissions (the first entry names the owner).</summary>
    ValueTask SetPermissionsAsync(string path, IReadOnlyList<XsPermission> permissions, CancellationToken cancellationToken = default);
}
