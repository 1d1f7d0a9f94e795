using System.Globalization;
using Xen.Blktap.Model;
using Xen.Store.Xenbus;

namespace Xen.Blktap.Lifecycle;

// What the manager reads back: the devices recorded for a domain, a device's class and its status.
public sealed partial class BlktapDeviceManager
{
    /// <summary>The device ids recorded for the domain under <paramref name="deviceClass"/>, in ascending order.</summary>
    public async ValueTask<IReadOnlyList<int>> ListDevicesAsync(BlktapDomain domain, DeviceClass deviceClass, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var ids = new List<int>();
        foreach (string name in await _store.ListAsync(domain.VmDeviceClassPath(deviceClass), cancellationToken).ConfigureAwait(false))
        {
            if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            {
                ids.Add(id);
            }
        }

        ids.Sort();
        return ids;
    }

    /// <summary>
    /// A running domain's device class for a device: the class whose <c>/vm</c> record names the device's frontend
    /// path (<c>/local/domain/&lt;domid&gt;/device/vbd/&lt;devid&gt;</c>); null when no record does.
    /// </summary>
    public async ValueTask<DeviceClass?> GetDeviceClassAsync(BlktapDomain domain, int deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(domain);
        string frontend = domain.FrontendPath(deviceId);
        foreach (DeviceClass cls in DeviceClasses.All)
        {
            foreach (string name in await _store.ListAsync(domain.VmDeviceClassPath(cls), cancellationToken).ConfigureAwait(false))
            {
                string? recorded = await _store.ReadAsync($"{domain.VmDeviceClassPath(cls)}/{name}/frontend", cancellationToken).ConfigureAwait(false);
                if (recorded == frontend)
                {
                    return cls;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// A stopped domain's device class for a device, from its configuration: tap disks are configured as tap2,
    /// others as vbd; null when no disk has that device number.
    /// </summary>
    public static DeviceClass? GetDeviceClass(DomainDiskConfiguration configuration, int deviceId)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        DiskEntry? disk = configuration.Find(deviceId);
        return disk is null ? null : DeviceClasses.Configured(disk.Spec);
    }

    /// <summary>The device's state now, or null when the domain has no such device.</summary>
    public async ValueTask<DeviceStatus?> GetStatusAsync(BlktapDomain domain, int deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(domain);
        DeviceClass? cls = await GetDeviceClassAsync(domain, deviceId, cancellationToken).ConfigureAwait(false);
        if (cls is null)
        {
            return null;
        }

        string record = domain.VmDevicePath(cls.Value, deviceId);
        string backend = await _store.ReadAsync($"{record}/backend", cancellationToken).ConfigureAwait(false) ?? domain.BackendPath(cls.Value, deviceId);
        string frontend = await _store.ReadAsync($"{record}/frontend", cancellationToken).ConfigureAwait(false) ?? domain.FrontendPath(deviceId);
        return new DeviceStatus(
            deviceId,
            cls.Value,
            backend,
            XenbusStateText.Parse(await _store.ReadAsync($"{backend}/state", cancellationToken).ConfigureAwait(false)),
            XenbusStateText.Parse(await _store.ReadAsync($"{frontend}/state", cancellationToken).ConfigureAwait(false)),
            await _store.ReadAsync($"{backend}/online", cancellationToken).ConfigureAwait(false) == "1",
            await _store.ReadAsync($"{backend}/hotplug-status", cancellationToken).ConfigureAwait(false),
            cls == DeviceClass.Tap2 ? await _store.ReadAsync($"{record}/{TapDeviceRecordNode}", cancellationToken).ConfigureAwait(false) : null);
    }
}
