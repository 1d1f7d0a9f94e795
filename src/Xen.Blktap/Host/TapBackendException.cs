namespace Xen.Blktap.Host;

/// <summary>
/// A tap backend could not do what it was asked: its program is missing or exited with an error, its output made
/// no sense, a sysfs file could not be written. The message names the program or file and quotes its output.
/// </summary>
public sealed class TapBackendException : BlktapException
{
    /// <summary>Creates the exception with no message.</summary>
    public TapBackendException() { }

    /// <summary>Creates the exception with a message.</summary>
    public TapBackendException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public TapBackendException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for an operation that failed.</summary>
    public TapBackendException(TapOperation operation, string message, int? exitCode = null, Exception? innerException = null)
        : base(message, innerException!)
    {
        Operation = operation;
        ExitCode = exitCode;
    }

    /// <summary>The operation that failed, when known.</summary>
    public TapOperation? Operation { get; }

    /// <summary>The exit code of the program that failed, when one ran.</summary>
    public int? ExitCode { get; }
}
