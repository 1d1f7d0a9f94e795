namespace Xen.Store.Wire;

/// <summary>
/// The errors of <c>xsd_errors[]</c> in <c>xen/io/xs_wire.h</c>, valued with their Linux errno numbers.
/// </summary>
public enum XsError
{
    /// <summary>A string outside the standard list (kept in <see cref="XenStoreErrorException.RawError"/>).</summary>
    Unknown = 0,

    /// <summary><c>EPERM</c>.</summary>
    EPERM = 1,

    /// <summary><c>ENOENT</c>: no such node (or, for RM, no parent).</summary>
    ENOENT = 2,

    /// <summary><c>EIO</c>.</summary>
    EIO = 5,

    /// <summary><c>E2BIG</c>: the reply would not fit in 4096 bytes.</summary>
    E2BIG = 7,

    /// <summary><c>EAGAIN</c>: a transaction conflicted; retry it.</summary>
    EAGAIN = 11,

    /// <summary><c>ENOMEM</c>.</summary>
    ENOMEM = 12,

    /// <summary><c>EACCES</c>: permission denied.</summary>
    EACCES = 13,

    /// <summary><c>EBUSY</c>: e.g. a transaction started inside a transaction.</summary>
    EBUSY = 16,

    /// <summary><c>EEXIST</c>: e.g. a duplicate watch.</summary>
    EEXIST = 17,

    /// <summary><c>EISDIR</c>.</summary>
    EISDIR = 21,

    /// <summary><c>EINVAL</c>: a malformed request.</summary>
    EINVAL = 22,

    /// <summary><c>ENOSPC</c>: a quota was exceeded (C xenstored).</summary>
    ENOSPC = 28,

    /// <summary><c>EROFS</c>.</summary>
    EROFS = 30,

    /// <summary><c>ENOSYS</c>: an unknown or unsupported request type.</summary>
    ENOSYS = 38,

    /// <summary><c>ENOTEMPTY</c>.</summary>
    ENOTEMPTY = 39,

    /// <summary><c>EISCONN</c>: e.g. introducing a domain twice.</summary>
    EISCONN = 106,
}
