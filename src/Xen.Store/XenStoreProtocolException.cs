namespace Xen.Store;

/// <summary>
/// The peer broke the wire protocol: a frame over 4096 bytes, a reply that does not parse, a reply to a request
/// that was never sent. The connection is unusable afterwards; every request still waiting on it fails too.
/// </summary>
public sealed class XenStoreProtocolException : XenStoreException
{
    /// <summary>Creates the exception with no message.</summary>
    public XenStoreProtocolException() { }

    /// <summary>Creates the exception with a message.</summary>
    public XenStoreProtocolException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public XenStoreProtocolException(string message, Exception innerException) : base(message, innerException) { }
}
