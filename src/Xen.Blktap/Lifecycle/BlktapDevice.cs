using Xen.Blktap.Host;
using Xen.Blktap.Model;

namespace Xen.Blktap.Lifecycle;

/// <summary>A device that was created: where its records are and what serves it.</summary>
/// <param name="Domain">The guest domain.</param>
/// <param name="Disk">The disk as configured.</param>
/// <param name="DeviceClass">The class it was created as (tap disks may fall back to blktap1).</param>
/// <param name="TapDevice">The tap device serving it (tap2 only), else null.</param>
public sealed record BlktapDevice(BlktapDomain Domain, DiskEntry Disk, DeviceClass DeviceClass, TapDevice? TapDevice)
{
    /// <summary>The device id (the device number of the virtual device).</summary>
    public int DeviceId => Disk.DeviceNumber;

    /// <summary>The backend directory.</summary>
    public string BackendPath => Domain.BackendPath(DeviceClass, DeviceId);

    /// <summary>The frontend directory.</summary>
    public string FrontendPath => Domain.FrontendPath(DeviceId);

    /// <summary>The toolstack's record, <c>/vm/&lt;uuid&gt;/device/&lt;class&gt;/&lt;devid&gt;</c>.</summary>
    public string VmDevicePath => Domain.VmDevicePath(DeviceClass, DeviceId);
}
