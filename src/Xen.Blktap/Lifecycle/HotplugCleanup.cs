using Xen.Blktap.DeviceStore;

namespace Xen.Blktap.Lifecycle;

/// <summary>
/// What the hotplug cleanup script does when a backend device goes away: find the toolstack's record of the device
/// and remove it with the backend's nodes. The record of a device whose backend is a vbd may be under
/// <c>tap2</c>: a tap2 device is served by a vbd backend, so when <c>/vm/&lt;uuid&gt;/device/vbd/&lt;devid&gt;</c>
/// does not exist, <c>/vm/&lt;uuid&gt;/device/tap2/&lt;devid&gt;</c> is the record.
/// </summary>
public static class HotplugCleanup
{
    /// <summary>
    /// The record of the device whose backend is <paramref name="backendPath"/>
    /// (<c>/local/domain/&lt;backdom&gt;/backend/&lt;class&gt;/&lt;domid&gt;/&lt;devid&gt;</c>), found through the guest's
    /// <c>/local/domain/&lt;domid&gt;/vm</c>; null when the guest has no vm path.
    /// </summary>
    /// <exception cref="ArgumentException">The path is not a backend device path.</exception>
    public static async ValueTask<string?> ResolveVmDevicePathAsync(IDeviceStoreOperations store, string backendPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        (string backendClass, string domainId, string deviceId) = Split(backendPath);
        string? vm = await store.ReadAsync($"/local/domain/{domainId}/vm", cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(vm))
        {
            return null;
        }

        string vmDevice = $"{vm}/device/{backendClass}/{deviceId}";
        if (backendClass == "vbd" && await store.ReadAsync(vmDevice, cancellationToken).ConfigureAwait(false) is null)
        {
            vmDevice = $"{vm}/device/tap2/{deviceId}";
        }

        return vmDevice;
    }

    /// <summary>
    /// Removes the device's record (<see cref="ResolveVmDevicePathAsync"/>), the backend's hotplug nodes and the
    /// backend directory, in one transaction; returns the record path it removed (or null when there was none to find).
    /// </summary>
    /// <exception cref="ArgumentException">The path is not a backend device path.</exception>
    public static async ValueTask<string?> RunAsync(IDeviceStore store, string backendPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        Split(backendPath);
        return await store.RunTransactionAsync(
            async (tx, token) =>
            {
                string? record = await ResolveVmDevicePathAsync(tx, backendPath, token).ConfigureAwait(false);
                if (record is not null)
                {
                    await tx.RemoveAsync(record, token).ConfigureAwait(false);
                }

                await tx.RemoveAsync($"{backendPath}/hotplug-error", token).ConfigureAwait(false);
                await tx.RemoveAsync($"{backendPath}/hotplug-status", token).ConfigureAwait(false);
                await tx.RemoveAsync(backendPath, token).ConfigureAwait(false);
                return record;
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static (string BackendClass, string DomainId, string DeviceId) Split(string backendPath)
    {
        ArgumentNullException.ThrowIfNull(backendPath);
        string[] parts = backendPath.Split('/');
        // "", "local", "domain", <backdom>, "backend", <class>, <domid>, <devid>
        if (parts.Length != 8 || parts[0].Length != 0 || parts[1] != "local" || parts[2] != "domain" || parts[4] != "backend"
            || parts[5].Length == 0 || !parts[6].All(char.IsAsciiDigit) || parts[6].Length == 0 || parts[7].Length == 0)
        {
            throw new ArgumentException($"'{backendPath}' is not /local/domain/<backdom>/backend/<class>/<domid>/<devid>.", nameof(backendPath));
        }

        return (parts[5], parts[6], parts[7]);
    }
}
