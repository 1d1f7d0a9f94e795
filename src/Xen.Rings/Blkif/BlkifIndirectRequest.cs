using System.Runtime.InteropServices;

namespace Xen.Rings.Blkif;

/// <summary>
/// <c>struct blkif_request_indirect</c>, native x86_64 ABI: 64 bytes (operation @0, indirect_op @1,
/// nr_segments u16 @2, id @8, sector_number @16, handle @24, indirect_grefs[8] @28).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
#pragma warning disable CA1815 // a wire struct; compare fields
public struct BlkifIndirectRequest
#pragma warning restore CA1815
{
    /// <summary><c>operation</c>: <see cref="BlkifOperation.Indirect"/>.</summary>
    [FieldOffset(0)] public BlkifOperation Operation;

    /// <summary><c>indirect_op</c>: READ or WRITE.</summary>
    [FieldOffset(1)] public BlkifOperation IndirectOperation;

    /// <summary><c>nr_segments</c>: segments spread over the indirect pages (512 per page).</summary>
    [FieldOffset(2)] public ushort SegmentCount;

    /// <summary><c>id</c>.</summary>
    [FieldOffset(8)] public ulong Id;

    /// <summary><c>sector_number</c>.</summary>
    [FieldOffset(16)] public ulong SectorNumber;

    /// <summary><c>handle</c>.</summary>
    [FieldOffset(24)] public ushort Handle;

    /// <summary><c>indirect_grefs</c>.</summary>
    [FieldOffset(28)] public BlkifIndirectGrefs IndirectGrefs;
}
