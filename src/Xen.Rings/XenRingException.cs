namespace Xen.Rings;

/// <summary>The root of every exception Xen.Rings throws for a problem on the ring itself (not argument misuse).</summary>
public class XenRingException : Exception
{
    /// <summary>Creates the exception with no message.</summary>
    public XenRingException() { }

    /// <summary>Creates the exception with a message.</summary>
    public XenRingException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public XenRingException(string message, Exception innerException) : base(message, innerException) { }
}
