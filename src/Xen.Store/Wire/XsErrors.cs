namespace Xen.Store.Wire;

/// <summary>Maps error strings to <see cref="XsError"/> and back, in the order of <c>xsd_errors[]</c>.</summary>
public static class XsErrors
{
    private static readonly (XsError Error, string Name)[] Table =
    [
        (XsError.EINVAL, "EINVAL"), (XsError.EACCES, "EACCES"), (XsError.EEXIST, "EEXIST"), (XsError.EISDIR, "EISDIR"),
        (XsError.ENOENT, "ENOENT"), (XsError.ENOMEM, "ENOMEM"), (XsError.ENOSPC, "ENOSPC"), (XsError.EIO, "EIO"),
        (XsError.ENOTEMPTY, "ENOTEMPTY"), (XsError.ENOSYS, "ENOSYS"), (XsError.EROFS, "EROFS"), (XsError.EBUSY, "EBUSY"),
        (XsError.EAGAIN, "EAGAIN"), (XsError.EISCONN, "EISCONN"), (XsError.E2BIG, "E2BIG"), (XsError.EPERM, "EPERM"),
    ];

    /// <summary>The standard errors in <c>xsd_errors[]</c> order.</summary>
    public static IReadOnlyList<XsError> All { get; } = Array.ConvertAll(Table, t => t.Error);

    /// <summary>The standard error named <paramref name="name"/>, or <see cref="XsError.Unknown"/>.</summary>
    public static XsError Parse(string name)
    {
        foreach (var (error, n) in Table)
        {
            if (string.Equals(n, name, StringComparison.Ordinal))
            {
                return error;
            }
        }

        return XsError.Unknown;
    }

    /// <summary>
    /// The error a server answers for a failed call's <paramref name="errno"/>, as C xenstored's <c>send_error</c>
    /// does: the errno itself when it is in the list, else <c>EINVAL</c> (which heads it).
    /// </summary>
    internal static XsError FromErrno(int errno)
    {
        foreach (var (error, _) in Table)
        {
            if ((int)error == errno)
            {
                return error;
            }
        }

        return XsError.EINVAL;
    }

    /// <summary>The wire name of <paramref name="error"/>, e.g. <c>ENOENT</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="XsError.Unknown"/> or an undefined value.</exception>
    public static string Name(XsError error)
    {
        foreach (var (e, n) in Table)
        {
            if (e == error)
            {
                return n;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(error), error, "Not a standard xenstore error.");
    }
}
