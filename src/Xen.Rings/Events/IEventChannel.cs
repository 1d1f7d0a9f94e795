namespace Xen.Rings.Events;

/// <summary>
/// One end of a Xen event channel: a doorbell with no payload. <see cref="Notify"/> rings the peer's bell;
/// <see cref="WaitAsync"/> waits for ours.
/// </summary>
/// <remarks>
/// Notifications are level-like and coalesce, as in Xen: any number of notifications that arrive between two
/// waits make the next <see cref="WaitAsync"/> complete once. A waiter must therefore re-check the ring after
/// every wake-up and before every wait (the ring.h final-check pattern), never count notifications.
/// </remarks>
public interface IEventChannel : IDisposable
{
    /// <summary>Signals the peer. Never blocks; a peer that is not listening simply misses it, as in Xen.</summary>
    void Notify();

    /// <summary>
    /// Completes when a notification has arrived since the previous wait completed (at once if one is pending).
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The channel was disposed (also completes pending waits this way).</exception>
    ValueTask WaitAsync(CancellationToken cancellationToken = default);
}
