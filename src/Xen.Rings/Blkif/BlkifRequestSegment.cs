using System.Runtime.InteropServices;

namespace Xen.Rings.Blkif;

/// <summary><c>struct blkif_request_segment</c>: one granted page and the sectors of it to transfer (8 bytes, same on every ABI).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct BlkifRequestSegment : IEquatable<BlkifRequestSegment>
{
    /// <summary><c>gref</c>: the grant reference of the I/O page.</summary>
    [FieldOffset(0)] public uint GrantRef;

    /// <summary><c>first_sect</c>: the first 512-byte sector of the page to transfer (inclusive).</summary>
    [FieldOffset(4)] public byte FirstSector;

    /// <summary><c>last_sect</c>: the last 512-byte sector of the page to transfer (inclusive).</summary>
    [FieldOffset(5)] public byte LastSector;

    /// <summary>Creates a segment.</summary>
    public BlkifRequestSegment(uint grantRef, byte firstSector, byte lastSector)
    {
        GrantRef = grantRef;
        FirstSector = firstSector;
        LastSector = lastSector;
    }

    /// <summary>The bytes the segment transfers, or 0 when <c>last_sect &lt; first_sect</c> (invalid).</summary>
    public readonly int ByteCount => LastSector >= FirstSector ? (LastSector - FirstSector + 1) * BlkifConstants.SectorSize : 0;

    /// <summary>Whether both sector numbers lie in one page and are in order, as a back end must check.</summary>
    public readonly bool IsValid => FirstSector <= LastSector && LastSector < BlkifConstants.SectorsPerPage;

    /// <inheritdoc/>
    public readonly bool Equals(BlkifRequestSegment other) =>
        GrantRef == other.GrantRef && FirstSector == other.FirstSector && LastSector == other.LastSector;

    /// <inheritdoc/>
    public override readonly bool Equals(object? obj) => obj is BlkifRequestSegment other && Equals(other);

    /// <inheritdoc/>
    public override readonly int GetHashCode() => HashCode.Combine(GrantRef, FirstSector, LastSector);

    /// <summary>Compares two segments.</summary>
    public static bool operator ==(BlkifRequestSegment left, BlkifRequestSegment right) => left.Equals(right);

    /// <summary>Compares two segments.</summary>
    public static bool operator !=(BlkifRequestSegment left, BlkifRequestSegment right) => !left.Equals(right);

    /// <inheritdoc/>
    public override readonly string ToString() => $"gref={GrantRef} sectors {FirstSector}..{LastSector}";
}
