namespace Xen.Store;

/// <summary>The root of every exception Xen.Store throws for a xenstore problem (not argument misuse).</summary>
public class XenStoreException : Exception
{
    /// <summary>Creates the exception with no message.</summary>
    public XenStoreException() { }

    /// <summary>Creates the exception with a message.</summary>
    public XenStoreException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public XenStoreException(string message, Exception innerException) : base(message, innerException) { }
}
