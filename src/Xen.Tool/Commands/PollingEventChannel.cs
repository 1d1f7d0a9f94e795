using Xen.Rings.Events;

namespace Xen.Tool.Commands;

/// <summary>
/// A stand-in event channel for a console with no event channel given: every wait completes after a fixed
/// interval, so the ring is checked that often, and notifications go nowhere. A peer that only polls (or that
/// checks its ring when it is kicked by something else) still sees everything; it just sees it later.
/// </summary>
internal sealed class PollingEventChannel : IEventChannel
{
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _disposed = new();

    public PollingEventChannel(TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _interval = interval;
    }

    public void Notify()
    {
    }

    public async ValueTask WaitAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        try
        {
            await Task.Delay(_interval, both.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ObjectDisposedException(nameof(PollingEventChannel));
        }
    }

    public void Dispose()
    {
        if (!_disposed.IsCancellationRequested)
        {
            _disposed.Cancel();
            _disposed.Dispose();
        }
    }
}
