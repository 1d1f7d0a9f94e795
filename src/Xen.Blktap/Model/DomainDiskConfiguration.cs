namespace Xen.Blktap.Model;

/// <summary>
/// A domain's disks after validation, as a toolstack accepts them: every tap driver known, no virtual device and
/// no backing file used twice, and exactly the first disk bootable when the configuration marks none.
/// </summary>
public sealed class DomainDiskConfiguration
{
    private DomainDiskConfiguration(IReadOnlyList<DiskEntry> disks) => Disks = disks;

    /// <summary>The disks in configuration order, with <see cref="DiskEntry.Bootable"/> always set.</summary>
    public IReadOnlyList<DiskEntry> Disks { get; }

    /// <summary>Validates a domain's disks.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="disks"/> is null or holds null.</exception>
    /// <exception cref="BlktapConfigurationException">
    /// A tap disk names an unknown driver (the message lists the allowed ones); two disks use the same virtual
    /// device (by device number, so <c>xvda</c> and <c>51712</c> clash) or the same backing file.
    /// </exception>
    public static DomainDiskConfiguration Validate(IEnumerable<DiskEntry> disks)
    {
        ArgumentNullException.ThrowIfNull(disks);
        var accepted = new List<DiskEntry>();
        foreach (DiskEntry disk in disks)
        {
            ArgumentNullException.ThrowIfNull(disk, nameof(disks));
            if (disk.Spec.IsTap && !TapDrivers.IsKnown(disk.Spec.Driver))
            {
                throw new BlktapConfigurationException(
                    $"Disk {disk.Spec} ({disk.VirtualDevice}): tap:{disk.Spec.Driver} is not a valid disk type (allowed: {string.Join(", ", TapDrivers.Known)}).");
            }

            foreach (DiskEntry other in accepted)
            {
                if (other.DeviceNumber == disk.DeviceNumber)
                {
                    throw new BlktapConfigurationException(
                        $"Disk {disk.Spec}: the virtual device {disk.VirtualDevice} ({disk.DeviceNumber}) is already used by {other.Spec} ({other.VirtualDevice}).");
                }

                if (string.Equals(other.Spec.Path, disk.Spec.Path, StringComparison.Ordinal))
                {
                    throw new BlktapConfigurationException(
                        $"Disk {disk.Spec} ({disk.VirtualDevice}): the file {disk.Spec.Path} is already used by {other.VirtualDevice}.");
                }
            }

            accepted.Add(disk);
        }

        if (accepted.Count > 0 && !accepted.Any(static d => d.Bootable == true))
        {
            accepted[0] = accepted[0] with { Bootable = true };
        }

        for (int i = 0; i < accepted.Count; i++)
        {
            if (accepted[i].Bootable is null)
            {
                accepted[i] = accepted[i] with { Bootable = false };
            }
        }

        return new DomainDiskConfiguration(accepted);
    }

    /// <summary>The disk with device number <paramref name="deviceNumber"/>, or null.</summary>
    public DiskEntry? Find(int deviceNumber) => Disks.FirstOrDefault(d => d.DeviceNumber == deviceNumber);
}
