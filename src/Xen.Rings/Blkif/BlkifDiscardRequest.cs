using System.Runtime.InteropServices;

namespace Xen.Rings.Blkif;

/// <summary><c>struct blkif_request_discard</c>, native x86_64 ABI: 32 bytes. Occupies a request slot when <c>operation</c> is DISCARD.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
#pragma warning disable CA1815 // a wire struct; compare fields
public struct BlkifDiscardRequest
#pragma warning restore CA1815
{
    /// <summary><c>operation</c>: <see cref="BlkifOperation.Discard"/>.</summary>
    [FieldOffset(0)] public BlkifOperation Operation;

    /// <summary><c>flag</c>: <see cref="BlkifConstants.DiscardSecure"/> or 0.</summary>
    [FieldOffset(1)] public byte Flag;

    /// <summary><c>handle</c>.</summary>
    [FieldOffset(2)] public ushort Handle;

    /// <summary><c>id</c>.</summary>
    [FieldOffset(8)] public ulong Id;

    /// <summary><c>sector_number</c>.</summary>
    [FieldOffset(16)] public ulong SectorNumber;

    /// <summary><c>nr_sectors</c>: contiguous sectors to discard.</summary>
    [FieldOffset(24)] public ulong SectorCount;
}
