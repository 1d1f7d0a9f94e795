using System.Diagnostics.CodeAnalysis;

namespace Xen.Blktap.Model;

/// <summary>
/// One disk of a domain's configuration: its specification, the virtual device the guest sees and the access
/// mode, e.g. <c>tap:aio:/images/root.img</c>, <c>xvda</c>, <c>w</c>.
/// </summary>
public sealed record DiskEntry
{
    /// <summary>Creates a disk entry.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="FormatException">The virtual device name is not one Xen accepts.</exception>
    /// <exception cref="ArgumentException">The mode is not <c>r</c> or <c>w</c>.</exception>
    public DiskEntry(DiskSpec spec, string virtualDevice, string mode = "w", bool? bootable = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(virtualDevice);
        ArgumentNullException.ThrowIfNull(mode);
        if (mode is not ("r" or "w"))
        {
            throw new ArgumentException($"Disk mode '{mode}' is neither 'r' nor 'w'.", nameof(mode));
        }

        Spec = spec;
        VirtualDevice = virtualDevice;
        DeviceNumber = Model.VirtualDevice.ToNumber(virtualDevice);
        Mode = mode;
        Bootable = bootable;
    }

    /// <summary>The disk specification.</summary>
    public DiskSpec Spec { get; }

    /// <summary>The virtual device name as configured (<c>xvda</c>).</summary>
    public string VirtualDevice { get; }

    /// <summary>The device number (the device id in xenstore paths).</summary>
    public int DeviceNumber { get; }

    /// <summary><c>r</c> or <c>w</c>.</summary>
    public string Mode { get; }

    /// <summary>Whether the disk is bootable; null when the configuration does not say.</summary>
    public bool? Bootable { get; init; }

    /// <summary>Parses the three fields of a disk line (<c>tap:aio:/img,xvda,w</c> split at the commas).</summary>
    /// <exception cref="FormatException">The spec or the virtual device is malformed.</exception>
    /// <exception cref="ArgumentException">The mode is not <c>r</c> or <c>w</c>.</exception>
    public static DiskEntry Parse(string spec, string virtualDevice, string mode = "w") =>
        new(DiskSpec.Parse(spec), virtualDevice, mode);

    /// <summary>Parses a disk line <c>&lt;spec&gt;,&lt;vdev&gt;[,&lt;mode&gt;]</c>; <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string? line, [NotNullWhen(true)] out DiskEntry? entry, [NotNullWhen(false)] out string? error)
    {
        entry = null;
        string[] parts = (line ?? string.Empty).Split(',');
        if (parts.Length is < 2 or > 3)
        {
            error = $"Disk '{line}' is not <spec>,<virtual device>[,<mode>].";
            return false;
        }

        if (!DiskSpec.TryParse(parts[0], out DiskSpec? spec, out error))
        {
            return false;
        }

        if (!Model.VirtualDevice.TryToNumber(parts[1], out _, out error))
        {
            return false;
        }

        string mode = parts.Length == 3 ? parts[2] : "w";
        if (mode is not ("r" or "w"))
        {
            error = $"Disk '{line}' has mode '{mode}' (expected r or w).";
            return false;
        }

        entry = new DiskEntry(spec, parts[1], mode);
        return true;
    }
}
