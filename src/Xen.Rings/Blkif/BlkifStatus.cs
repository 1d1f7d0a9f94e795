namespace Xen.Rings.Blkif;

/// <summary>The <c>status</c> of a blkif response (<c>BLKIF_RSP_*</c>).</summary>
#pragma warning disable CA1028 // the wire type is int16
public enum BlkifStatus : short
#pragma warning restore CA1028
{
    /// <summary><c>BLKIF_RSP_EOPNOTSUPP</c>: operation not supported.</summary>
    NotSupported = -2,

    /// <summary><c>BLKIF_RSP_ERROR</c>: the operation failed.</summary>
    Error = -1,

    /// <summary><c>BLKIF_RSP_OKAY</c>.</summary>
    Okay = 0,
}
