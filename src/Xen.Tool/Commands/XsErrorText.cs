using Xen.Store;
using Xen.Store.Wire;

namespace Xen.Tool.Commands;

/// <summary>How the <c>xen store</c> commands name a failure on standard error.</summary>
internal static class XsErrorText
{
    /// <summary>The error's name (<c>ENOENT</c>) for a daemon error; the message for anything else.</summary>
    public static string Name(Exception error) => error switch
    {
        XenStoreErrorException e => e.RawError,
        _ => error.Message,
    };

    /// <summary>
    /// The C library's text for the error followed by its name (<c>No such file or directory (ENOENT)</c>), where
    /// xenstore-utils prints <c>strerror(errno)</c>; the message for anything that is not a daemon error.
    /// </summary>
    public static string Describe(Exception error) => error switch
    {
        XenStoreErrorException e => $"{StrError(e.Error)} ({e.RawError})",
        _ => error.Message,
    };

    private static string StrError(XsError error) => error switch
    {
        XsError.EPERM => "Operation not permitted",
        XsError.ENOENT => "No such file or directory",
        XsError.EIO => "Input/output error",
        XsError.E2BIG => "Argument list too long",
        XsError.EAGAIN => "Resource temporarily unavailable",
        XsError.ENOMEM => "Cannot allocate memory",
        XsError.EACCES => "Permission denied",
        XsError.EBUSY => "Device or resource busy",
        XsError.EEXIST => "File exists",
        XsError.EISDIR => "Is a directory",
        XsError.ENOSPC => "No space left on device",
        XsError.EROFS => "Read-only file system",
        XsError.ENOSYS => "Function not implemented",
        XsError.ENOTEMPTY => "Directory not empty",
        XsError.EISCONN => "Transport endpoint is already connected",
        _ => "Invalid argument", // EINVAL, and what libxenstore makes of a name outside xs_wire.h's list
    };
}
