using Xen.Store.Wire;

namespace Xen.Store;

/// <summary>
/// The daemon answered a request with an <c>XS_ERROR</c> reply: <c>E&lt;NAME&gt;</c>. <see cref="Error"/> is the
/// standard error when the name is one of <c>xs_wire.h</c>'s; <see cref="RawError"/> is always the string as it
/// came (e.g. oxenstored's <c>EQUOTA</c>, which has no standard number).
/// </summary>
public sealed class XenStoreErrorException : XenStoreException
{
    /// <summary>Creates the exception with no message.</summary>
    public XenStoreErrorException() : this(string.Empty) { }

    /// <summary>Creates the exception for an error string the daemon sent.</summary>
    /// <param name="rawError">The error string, e.g. <c>ENOENT</c>.</param>
    public XenStoreErrorException(string rawError) : this(rawError, null, null) { }

    /// <summary>Creates the exception with the raw error and an inner exception.</summary>
    public XenStoreErrorException(string rawError, Exception innerException) : this(rawError, null, innerException) { }

    /// <summary>Creates the exception for an error string the daemon sent about an operation on a path.</summary>
    /// <param name="rawError">The error string, e.g. <c>ENOENT</c>.</param>
    /// <param name="operation">What was asked, e.g. <c>READ /local/domain/5/name</c>, for the message.</param>
    /// <param name="innerException">An inner exception, or null.</param>
    public XenStoreErrorException(string rawError, string? operation, Exception? innerException = null)
        : base(operation is null ? $"xenstore: {rawError}" : $"xenstore: {operation}: {rawError}", innerException!)
    {
        RawError = rawError ?? string.Empty;
        Error = XsErrors.Parse(RawError);
        Operation = operation;
    }

    /// <summary>The standard error, or <see cref="XsError.Unknown"/> for a string outside <c>xs_wire.h</c>'s list.</summary>
    public XsError Error { get; }

    /// <summary>The error string exactly as the daemon sent it (without its NUL).</summary>
    public string RawError { get; }

    /// <summary>The operation that failed, when known.</summary>
    public string? Operation { get; }
}
