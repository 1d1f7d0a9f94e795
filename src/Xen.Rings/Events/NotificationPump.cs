namespace Xen.Rings.Events;

/// <summary>
/// Owns the only wait on an event channel and fans each notification out to local signals (one per waiting
/// role: reader, writer, flusher), after running an optional callback.
/// </summary>
/// <remarks>
/// Why: a channel's signal is consumed by whichever wait takes it, so two roles waiting on the same channel
/// directly can lose a wake-up (one role consumes the notification meant for the other). Each local signal keeps
/// its own pending flag, so every role sees every notification at least once. The loop ends when the token is
/// cancelled or the channel is disposed; the signals are then disposed, failing their waits.
/// </remarks>
internal sealed class NotificationPump : IDisposable
{
    private readonly IEventChannel _channel;
    private readonly AsyncSignal[] _signals;
    private readonly Action? _onNotification;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public NotificationPump(IEventChannel channel, int signalCount, Action? onNotification = null)
    {
        _channel = channel;
        _onNotification = onNotification;
        _signals = new AsyncSignal[signalCount];
        for (int i = 0; i < signalCount; i++)
        {
            _signals[i] = new AsyncSignal();
        }

        _loop = Task.Run(RunAsync);
    }

    public AsyncSignal this[int index] => _signals[index];

    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        foreach (AsyncSignal signal in _signals)
        {
            signal.Dispose();
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        Exception? fault;
        try
        {
            while (true)
            {
                await _channel.WaitAsync(_stop.Token).ConfigureAwait(false);
                _onNotification?.Invoke();
                foreach (AsyncSignal signal in _signals)
                {
                    signal.Set();
                }
            }
        }
        catch (OperationCanceledException)
        {
            fault = null;
        }
        catch (ObjectDisposedException)
        {
            fault = null;
        }
#pragma warning disable CA1031 // the fault is surfaced to every waiter
        catch (Exception e)
#pragma warning restore CA1031
        {
            fault = e;
        }

        foreach (AsyncSignal signal in _signals)
        {
            signal.Dispose(fault);
        }
    }
}
