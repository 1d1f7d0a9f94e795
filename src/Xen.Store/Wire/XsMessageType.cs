namespace Xen.Store.Wire;

/// <summary>The <c>type</c> field of <c>struct xsd_sockmsg</c> (<c>enum xsd_sockmsg_type</c> in <c>xen/io/xs_wire.h</c>).</summary>
#pragma warning disable CA1028 // the wire type is uint32
public enum XsMessageType : uint
#pragma warning restore CA1028
{
    /// <summary><c>XS_CONTROL</c> (formerly <c>XS_DEBUG</c>).</summary>
    Control = 0,

    /// <summary><c>XS_DIRECTORY</c>.</summary>
    Directory = 1,

    /// <summary><c>XS_READ</c>.</summary>
    Read = 2,

    /// <summary><c>XS_GET_PERMS</c>.</summary>
    GetPerms = 3,

    /// <summary><c>XS_WATCH</c>.</summary>
    Watch = 4,

    /// <summary><c>XS_UNWATCH</c>.</summary>
    Unwatch = 5,

    /// <summary><c>XS_TRANSACTION_START</c>.</summary>
    TransactionStart = 6,

    /// <summary><c>XS_TRANSACTION_END</c>.</summary>
    TransactionEnd = 7,

    /// <summary><c>XS_INTRODUCE</c>.</summary>
    Introduce = 8,

    /// <summary><c>XS_RELEASE</c>.</summary>
    Release = 9,

    /// <summary><c>XS_GET_DOMAIN_PATH</c>.</summary>
    GetDomainPath = 10,

    /// <summary><c>XS_WRITE</c>.</summary>
    Write = 11,

    /// <summary><c>XS_MKDIR</c>.</summary>
    Mkdir = 12,

    /// <summary><c>XS_RM</c>.</summary>
    Rm = 13,

    /// <summary><c>XS_SET_PERMS</c>.</summary>
    SetPerms = 14,

    /// <summary><c>XS_WATCH_EVENT</c>: unsolicited, server to client.</summary>
    WatchEvent = 15,

    /// <summary><c>XS_ERROR</c>: a reply carrying an <c>E&lt;NAME&gt;</c> string.</summary>
    Error = 16,

    /// <summary><c>XS_IS_DOMAIN_INTRODUCED</c>.</summary>
    IsDomainIntroduced = 17,

    /// <summary><c>XS_RESUME</c>.</summary>
    Resume = 18,

    /// <summary><c>XS_SET_TARGET</c>.</summary>
    SetTarget = 19,

    /// <summary><c>XS_INVALID</c> (20): was <c>XS_RESTRICT</c>; never valid.</summary>
    Invalid = 20,

    /// <summary><c>XS_RESET_WATCHES</c>.</summary>
    ResetWatches = 21,

    /// <summary><c>XS_DIRECTORY_PART</c>.</summary>
    DirectoryPart = 22,

    /// <summary><c>XS_GET_FEATURE</c>.</summary>
    GetFeature = 23,

    /// <summary><c>XS_SET_FEATURE</c>.</summary>
    SetFeature = 24,

    /// <summary><c>XS_GET_QUOTA</c>.</summary>
    GetQuota = 25,

    /// <summary><c>XS_SET_QUOTA</c>.</summary>
    SetQuota = 26,

    /// <summary>The old <c>XS_RESTRICT</c> number used by XenServer-lineage clients (128).</summary>
    Restrict = 128,
}
