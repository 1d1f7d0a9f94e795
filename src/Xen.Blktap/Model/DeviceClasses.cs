using System.Diagnostics.CodeAnalysis;

namespace Xen.Blktap.Model;

/// <summary>Names of the device classes and the rule that picks one for a disk.</summary>
public static class DeviceClasses
{
    /// <summary>Every block device class, in the order a domain's devices are released.</summary>
    public static IReadOnlyList<DeviceClass> All { get; } = [DeviceClass.Vbd, DeviceClass.Tap, DeviceClass.Tap2];

    /// <summary>The class's name in xenstore paths: <c>vbd</c>, <c>tap</c> or <c>tap2</c>.</summary>
    public static string Name(this DeviceClass deviceClass) => deviceClass switch
    {
        DeviceClass.Vbd => "vbd",
        DeviceClass.Tap => "tap",
        DeviceClass.Tap2 => "tap2",
        _ => throw new ArgumentOutOfRangeException(nameof(deviceClass), deviceClass, "Not a device class."),
    };

    /// <summary>
    /// The class of the backend that serves a device of this class: <c>vbd</c> for vbd and tap2 (a tap2 device is a
    /// tapdisk's block device handed to blkback), <c>tap</c> for blktap1.
    /// </summary>
    public static string BackendClassName(this DeviceClass deviceClass) => deviceClass == DeviceClass.Tap ? "tap" : "vbd";

    /// <summary>Parses <c>vbd</c>, <c>tap</c> or <c>tap2</c>.</summary>
    public static bool TryParse(string? name, [NotNullWhen(true)] out DeviceClass? deviceClass)
    {
        deviceClass = name switch
        {
            "vbd" => DeviceClass.Vbd,
            "tap" => DeviceClass.Tap,
            "tap2" => DeviceClass.Tap2,
            _ => null,
        };
        return deviceClass is not null;
    }

    /// <summary>
    /// The class a disk is created as: <c>phy:</c> and <c>file:</c> are vbd; a tap disk is tap2 when its driver is
    /// one blktap2 serves (aio, ram, qcow, vhd) and the blktap2 driver is present, else blktap1 (tap).
    /// </summary>
    public static DeviceClass Choose(DiskSpec spec, bool blktap2Present)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!spec.IsTap)
        {
            return DeviceClass.Vbd;
        }

        return blktap2Present && TapDrivers.IsBlktap2(spec.Driver) ? DeviceClass.Tap2 : DeviceClass.Tap;
    }

    /// <summary>
    /// The class a stopped domain's configuration records for a disk, before anything decides blktap1 or blktap2:
    /// tap disks are recorded as tap2, others as vbd (a running domain's real class is in xenstore).
    /// </summary>
    public static DeviceClass Configured(DiskSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.IsTap ? DeviceClass.Tap2 : DeviceClass.Vbd;
    }
}
