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
public sealed class NotificationPump : IDisposable
{
    private readonly IEventChannel _channel;
    private readonly AsyncSignal[] _signals;
    private readonly Action? _onNotification;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly IEventHandlerSource? _handlerSource;

    /// <summary>Starts the loop that waits on <paramref name="channel"/>.</summary>
    /// <param name="channel">The channel; the pump does not dispose it.</param>
    /// <param name="roleCount">How many independent waiting roles there are (e.g. 2: reader and writer).</param>
    /// <param name="onNotification">Runs on every notification before the roles are woken (e.g. flush output); if it throws, every wait fails with that exception.</param>
    /// <param name="wakeOnEventThread">
    /// When the channel is an <see cref="IEventHandlerSource"/>, wake the roles on the thread that receives the event
    /// (the event-channel poller) instead of from the pump's own wait: one thread hand-off less per event. The wait then
    /// only watches for the channel's end. <paramref name="onNotification"/> would run on that thread too, so keep it short.
    /// </param>
    public NotificationPump(IEventChannel channel, int roleCount, Action? onNotification = null, bool wakeOnEventThread = false)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(roleCount);
        int signalCount = roleCount;
        _channel = channel;
        _onNotification = onNotification;
        _signals = new AsyncSignal[signalCount];
        for (int i = 0; i < signalCount; i++)
        {
            _signals[i] = new AsyncSignal();
        }

        if (wakeOnEventThread && channel is IEventHandlerSource source)
        {
            _handlerSource = source;
            source.SetEventHandler(WakeAll);
        }

        _loop = Task.Run(RunAsync);
    }

    /// <summary>
    /// Completes when a notification arrived since this role's previous wait completed (at once if one did).
    /// Check the ring after it completes, and check it again before the next wait.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The pump or the channel was disposed.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No such role.</exception>
    public ValueTask WaitAsync(int role, CancellationToken cancellationToken = default) => _signals[role].WaitAsync(cancellationToken);

    /// <summary>Stops the loop; every pending and later wait fails with <see cref="ObjectDisposedException"/>.</summary>

    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _handlerSource?.SetEventHandler(null);
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
                WakeAll(); // with a handler this wait ends only with the channel (or an event from before the handler)
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

    private void WakeAll()
    {
        _onNotification?.Invoke();
        foreach (AsyncSignal signal in _signals)
        {
            signal.Set();
        }
    }
}
