using System.Runtime.InteropServices;

namespace Xen.Rings.Blkif;

/// <summary>
/// <c>struct blkif_request_indirect</c> as a 32-bit x86 front end lays it out: 64 bytes packed to 4 (id @4,
/// sector_number @12, handle @20, indirect_grefs[8] @24, then the 8-byte pad the header adds under <c>__i386__</c>).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
#pragma warning disable CA1815 // a wire struct; compare fields
public struct BlkifIndirectRequestX86_32
#pragma warning restore CA1815
{
    /// <summary><c>operation</c>.</summary>
    [FieldOffset(0)] public BlkifOperation Operation;

    /// <summary><c>indirect_op</c>.</summary>
    [FieldOffset(1)] public BlkifOperation IndirectOperation;

    /// <summary><c>nr_segments</c>.</summary>
    [FieldOffset(2)] public ushort SegmentCount;

    /// <summary><c>id</c>.</summary>
    [FieldOffset(4)] public ulong Id;

    /// <summary><c>sector_number</c>.</summary>
    [FieldOffset(12)] public ulong SectorNumber;

    /// <summary><c>handle</c>.</summary>
    [FieldOffset(20)] public ushort Handle;

    /// <summary><c>indirect_grefs</c>.</summary>
    [FieldOffset(24)] public BlkifIndirectGrefs IndirectGrefs;
}
