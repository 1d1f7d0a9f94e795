using System.Runtime.InteropServices;

namespace Xen.Rings.Blkif;

/// <summary>
/// <c>struct blkif_x86_32_request</c>: the request of a 32-bit x86 front end (<c>protocol</c> = <c>x86_32-abi</c>),
/// packed to 4 bytes: 108 bytes (id @4, sector_number @12, seg[11] @20). A 64-bit back end must use this
/// layout for such a front end.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 108)]
#pragma warning disable CA1815 // a wire struct; compare fields
public struct BlkifRequestX86_32
#pragma warning restore CA1815
{
    /// <summary><c>operation</c>.</summary>
    [FieldOffset(0)] public BlkifOperation Operation;

    /// <summary><c>nr_segments</c>.</summary>
    [FieldOffset(1)] public byte SegmentCount;

    /// <summary><c>handle</c>.</summary>
    [FieldOffset(2)] public ushort Handle;

    /// <summary><c>id</c>.</summary>
    [FieldOffset(4)] public ulong Id;

    /// <summary><c>sector_number</c>.</summary>
    [FieldOffset(12)] public ulong SectorNumber;

    /// <summary><c>seg</c>.</summary>
    [FieldOffset(20)] public BlkifSegments Segments;

    /// <summary>The same request in the native layout (what a back end acts on after copying the slot out).</summary>
    public readonly BlkifRequest ToNative() => new()
    {
        Operation = Operation, SegmentCount = SegmentCount, Handle = Handle, Id = Id, SectorNumber = SectorNumber, Segments = Segments,
    };
}
