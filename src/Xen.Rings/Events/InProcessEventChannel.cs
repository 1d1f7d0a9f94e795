namespace Xen.Rings.Events;

/// <summary>
/// An event channel between two ends in the same process (for tests, the demo, and an embedded server
/// talking to an in-process guest). Create the two connected ends with <see cref="CreatePair"/>.
/// </summary>
public sealed class InProcessEventChannel : IEventChannel
{
    private readonly AsyncSignal _signal = new();
    private InProcessEventChannel? _peer;

    private InProcessEventChannel()
    {
    }

    /// <summary>Creates two connected ends: each one's <see cref="Notify"/> wakes the other's <see cref="WaitAsync"/>.</summary>
    public static (InProcessEventChannel First, InProcessEventChannel Second) CreatePair()
    {
        var first = new InProcessEventChannel();
        var second = new InProcessEventChannel { _peer = first };
        first._peer = second;
        return (first, second);
    }

    /// <inheritdoc/>
    public void Notify() => _peer?._signal.Set();

    /// <inheritdoc/>
    public ValueTask WaitAsync(CancellationToken cancellationToken = default) => _signal.WaitAsync(cancellationToken);

    /// <summary>Closes this end: its pending and future waits fail with <see cref="ObjectDisposedException"/>; the peer's notifications are dropped.</summary>
    public void Dispose() => _signal.Dispose();
}
