namespace Xen.Store;

/// <summary>
/// The connection to the xenstore daemon was lost or could not be made. Requests that were waiting for a reply
/// fail with this exception; whether the daemon carried them out is unknown.
/// </summary>
public sealed class XenStoreConnectionException : XenStoreException
{
    /// <summary>Creates the exception with no message.</summary>
    public XenStoreConnectionException() { }

    /// <summary>Creates the exception with a message.</summary>
    public XenStoreConnectionException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public XenStoreConnectionException(string message, Exception innerException) : base(message, innerException) { }
}
