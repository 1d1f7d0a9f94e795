using System.Runtime.InteropServices;

namespace Xen.Rings.Blkif;

/// <summary>
/// <c>struct blkif_request</c>, native x86_64 (and Arm) ABI: 112 bytes. Read, write, barrier and flush requests.
/// </summary>
/// <remarks>
/// <code>
/// offset size field
///      0    1 operation      BLKIF_OP_*
///      1    1 nr_segments
///      2    2 handle         the virtual device
///      8    8 id             echoed in the response
///     16    8 sector_number  in 512-byte sectors
///     24   88 seg[11]
/// </code>
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 112)]
#pragma warning disable CA1815 // a wire struct; compare fields
public struct BlkifRequest
#pragma warning restore CA1815
{
    /// <summary><c>operation</c>.</summary>
    [FieldOffset(0)] public BlkifOperation Operation;

    /// <summary><c>nr_segments</c>: how many of <see cref="Segments"/> are used (at most 11; a back end must check).</summary>
    [FieldOffset(1)] public byte SegmentCount;

    /// <summary><c>handle</c>: the virtual device.</summary>
    [FieldOffset(2)] public ushort Handle;

    /// <summary><c>id</c>: a front-end value echoed in the response.</summary>
    [FieldOffset(8)] public ulong Id;

    /// <summary><c>sector_number</c>: the first 512-byte sector on the disk.</summary>
    [FieldOffset(16)] public ulong SectorNumber;

    /// <summary><c>seg</c>: the segments.</summary>
    [FieldOffset(24)] public BlkifSegments Segments;
}
