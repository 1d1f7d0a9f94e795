namespace Xen.Tool.Commands;

/// <summary>
/// Ends a <c>xen store</c> command at once with a message on standard error and an exit status, where
/// xenstore-utils calls <c>err</c>/<c>errx</c>: an open transaction is dropped with the connection, not committed.
/// </summary>
internal sealed class StoreExitException : Exception
{
    public StoreExitException()
    {
    }

    public StoreExitException(string message) : base(message)
    {
    }

    public StoreExitException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>The exit status (1, as xenstore-utils).</summary>
    public int ExitCode { get; init; } = 1;
}
