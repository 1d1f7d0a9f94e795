namespace Xen.Rings.XenStore;

/// <summary>The <c>error</c> field of the xenstore page (<c>XENSTORE_ERROR_*</c>), set by the server.</summary>
public enum XenStoreRingError : uint
{
    /// <summary><c>XENSTORE_ERROR_NONE</c>.</summary>
    None = 0,

    /// <summary><c>XENSTORE_ERROR_COMM</c>: a communication problem.</summary>
    Communication = 1,

    /// <summary><c>XENSTORE_ERROR_RINGIDX</c>: the ring indices were invalid.</summary>
    RingIndex = 2,

    /// <summary><c>XENSTORE_ERROR_PROTO</c>: the protocol was violated.</summary>
    Protocol = 3,
}
