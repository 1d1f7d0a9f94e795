using System.Runtime.InteropServices;

namespace Xen.Rings.Blkif;

/// <summary><c>struct blkif_x86_32_request_discard</c>: 28 bytes packed to 4 (id @4, sector_number @12, nr_sectors @20).</summary>
[StructLayout(LayoutKind.Explicit, Size = 28)]
#pragma warning disable CA1815 // a wire struct; compare fields
public struct BlkifDiscardRequestX86_32
#pragma warning restore CA1815
{
    /// <summary><c>operation</c>.</summary>
    [FieldOffset(0)] public BlkifOperation Operation;

    /// <summary><c>flag</c>.</summary>
    [FieldOffset(1)] public byte Flag;

    /// <summary><c>handle</c>.</summary>
    [FieldOffset(2)] public ushort Handle;

    /// <summary><c>id</c>.</summary>
    [FieldOffset(4)] public ulong Id;

    /// <summary><c>sector_number</c>.</summary>
    [FieldOffset(12)] public ulong SectorNumber;

    /// <summary><c>nr_sectors</c>.</summary>
    [FieldOffset(20)] public ulong SectorCount;
}
