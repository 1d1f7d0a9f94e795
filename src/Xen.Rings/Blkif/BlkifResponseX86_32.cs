using System.Runtime.InteropServices;

namespace Xen.Rings.Blkif;

/// <summary><c>struct blkif_x86_32_response</c>: 12 bytes (id @0, operation @8, status @10).</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
#pragma warning disable CA1815 // a wire struct; compare fields
public struct BlkifResponseX86_32
#pragma warning restore CA1815
{
    /// <summary><c>id</c>.</summary>
    [FieldOffset(0)] public ulong Id;

    /// <summary><c>operation</c>.</summary>
    [FieldOffset(8)] public BlkifOperation Operation;

    /// <summary><c>status</c>.</summary>
    [FieldOffset(10)] public BlkifStatus Status;
}
