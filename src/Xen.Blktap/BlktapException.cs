namespace Xen.Blktap;

/// <summary>The root of every exception Xen.Blktap throws for a device problem (not argument misuse).</summary>
public class BlktapException : Exception
{
    /// <summary>Creates the exception with no message.</summary>
    public BlktapException() { }

    /// <summary>Creates the exception with a message.</summary>
    public BlktapException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public BlktapException(string message, Exception innerException) : base(message, innerException) { }
}
