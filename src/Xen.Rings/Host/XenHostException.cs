using System.Runtime.InteropServices;

namespace Xen.Rings.Host;

/// <summary>
/// A call into Xen's tool libraries (or the kernel device behind them) failed: <see cref="Errno"/> is the errno it set,
/// <see cref="Call"/> the function and its arguments.
/// </summary>
public sealed class XenHostException : XenRingException
{
    /// <summary>Creates the exception for <paramref name="call"/> failing with <paramref name="errno"/>.</summary>
    public XenHostException(string call, int errno)
        : base($"{call} failed: {Describe(errno)}")
    {
        Call = call;
        Errno = errno;
    }

    /// <summary>Creates the exception with a message (no errno).</summary>
    public XenHostException() : this("a Xen host call", 0) { }

    /// <summary>Creates the exception with a message (no errno).</summary>
    public XenHostException(string message) : base(message) => Call = message;

    /// <summary>Creates the exception with a message and an inner exception (no errno).</summary>
    public XenHostException(string message, Exception innerException) : base(message, innerException) => Call = message;

    /// <summary>The failed call, with its arguments (<c>xenevtchn_bind_interdomain(domain 5, port 7)</c>).</summary>
    public string Call { get; }

    /// <summary>The errno the call set (0 when it set none).</summary>
    public int Errno { get; }

    /// <summary>Throws for <paramref name="call"/> with the errno of the last P/Invoke.</summary>
    internal static XenHostException FromLastError(string call) => new(call, Marshal.GetLastPInvokeError());

    private static string Describe(int errno) =>
        errno == 0 ? "no errno was set" : $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}
