namespace Xen.Blktap.Model;

/// <summary>The prefix of a disk specification: how the toolstack is asked to back the disk.</summary>
public enum DiskKind
{
    /// <summary><c>phy:</c>: a block device of the backend domain, served by blkback as it is.</summary>
    Phy,

    /// <summary><c>file:</c>: an image file, served through a loop device.</summary>
    File,

    /// <summary><c>tap:</c>: an image served by a tapdisk process (blktap2 when it can, else blktap1).</summary>
    Tap,

    /// <summary><c>tap2:</c>: as <see cref="Tap"/>, written by toolstacks that name the blktap2 class outright.</summary>
    Tap2,
}
