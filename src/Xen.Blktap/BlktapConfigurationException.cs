namespace Xen.Blktap;

/// <summary>
/// A domain's disk configuration was refused: an unknown tap driver, the same virtual device or the same backing
/// file twice, an unusable virtual device name. The message says which disk and why.
/// </summary>
public sealed class BlktapConfigurationException : BlktapException
{
    /// <summary>Creates the exception with no message.</summary>
    public BlktapConfigurationException() { }

    /// <summary>Creates the exception with a message.</summary>
    public BlktapConfigurationException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public BlktapConfigurationException(string message, Exception innerException) : base(message, innerException) { }
}
