using System.Runtime.InteropServices;

namespace Xen.Rings.Blkif;

/// <summary><c>struct blkif_response</c>, native x86_64 ABI: 16 bytes (id @0, operation @8, status @10).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct BlkifResponse : IEquatable<BlkifResponse>
{
    /// <summary><c>id</c>: copied from the request.</summary>
    [FieldOffset(0)] public ulong Id;

    /// <summary><c>operation</c>: copied from the request.</summary>
    [FieldOffset(8)] public BlkifOperation Operation;

    /// <summary><c>status</c>.</summary>
    [FieldOffset(10)] public BlkifStatus Status;

    /// <summary>Creates a response.</summary>
    public BlkifResponse(ulong id, BlkifOperation operation, BlkifStatus status)
    {
        Id = id;
        Operation = operation;
        Status = status;
    }

    /// <inheritdoc/>
    public readonly bool Equals(BlkifResponse other) => Id == other.Id && Operation == other.Operation && Status == other.Status;

    /// <inheritdoc/>
    public override readonly bool Equals(object? obj) => obj is BlkifResponse other && Equals(other);

    /// <inheritdoc/>
    public override readonly int GetHashCode() => HashCode.Combine(Id, Operation, Status);

    /// <summary>Compares two responses.</summary>
    public static bool operator ==(BlkifResponse left, BlkifResponse right) => left.Equals(right);

    /// <summary>Compares two responses.</summary>
    public static bool operator !=(BlkifResponse left, BlkifResponse right) => !left.Equals(right);

    /// <inheritdoc/>
    public override readonly string ToString() => $"id={Id} op={Operation} status={Status}";
}
