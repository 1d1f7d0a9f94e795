namespace Xen.TestSupport.Peers;

/// <summary>A real Xen program or the peers folder that a test needs is missing.</summary>
public sealed class PeerUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PeerUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message naming what is missing.</summary>
    public PeerUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that revealed the problem.</summary>
    public PeerUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
