namespace Xen.Store.Transports;

/// <summary>
/// A transport that can also receive by blocking the calling thread (and polling first, up to a deadline), which a
/// client's dedicated receive thread uses instead of <see cref="IXenStoreTransport.ReceiveAsync"/>: a reply then wakes
/// that thread directly, as libxenstore's blocking <c>read</c> does, with no socket-engine thread in between.
/// </summary>
internal interface IBlockingReceiveTransport : IXenStoreTransport
{
    /// <summary>Receives at least one byte, blocking; 0 when the daemon closed the connection or the transport was disposed.</summary>
    /// <param name="buffer">Where the bytes go.</param>
    /// <param name="spinUntil">A <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> value until which to poll without sleeping; 0 to sleep at once.</param>
    /// <exception cref="IOException">The connection failed.</exception>
    int ReceiveBlocking(Span<byte> buffer, long spinUntil);
}
