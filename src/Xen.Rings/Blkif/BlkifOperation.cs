namespace Xen.Rings.Blkif;

/// <summary>The <c>operation</c> byte of a blkif request and response (<c>BLKIF_OP_*</c>).</summary>
#pragma warning disable CA1028 // the wire type is a byte
public enum BlkifOperation : byte
#pragma warning restore CA1028
{
    /// <summary><c>BLKIF_OP_READ</c>.</summary>
    Read = 0,

    /// <summary><c>BLKIF_OP_WRITE</c>.</summary>
    Write = 1,

    /// <summary><c>BLKIF_OP_WRITE_BARRIER</c>.</summary>
    WriteBarrier = 2,

    /// <summary><c>BLKIF_OP_FLUSH_DISKCACHE</c>.</summary>
    FlushDiskCache = 3,

    /// <summary><c>BLKIF_OP_RESERVED_1</c> (was a XenServer vendor extension).</summary>
    Reserved1 = 4,

    /// <summary><c>BLKIF_OP_DISCARD</c>: the slot holds a <see cref="BlkifDiscardRequest"/>.</summary>
    Discard = 5,

    /// <summary><c>BLKIF_OP_INDIRECT</c>: the slot holds a <see cref="BlkifIndirectRequest"/>.</summary>
    Indirect = 6,
}
