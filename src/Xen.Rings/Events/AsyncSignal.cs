namespace Xen.Rings.Events;

/// <summary>
/// An auto-reset signal with a pending flag: <see cref="Set"/> wakes the current waiters or, if there are none,
/// leaves the signal set so the next <see cref="WaitAsync"/> completes at once. The fast path (a pending signal)
/// allocates nothing; a wait that blocks allocates one task shared by all its waiters, plus a continuation per
/// wait that can be cancelled.
/// </summary>
/// <remarks>
/// A waiter that gives up (its token is cancelled) leaves the waiter count, and the last one to leave drops the
/// shared task: a <see cref="Set"/> after that finds nobody to wake and stays pending, instead of completing a task
/// nobody awaits and losing the notification. If a <see cref="Set"/> completes the task just as its only waiter
/// gives up, the waiter puts the notification back as pending: the caller saw a cancellation, not a wake-up.
/// </remarks>
internal sealed class AsyncSignal
{
    private readonly object _gate = new();
    private bool _pending;
    private bool _disposed;
    private Exception? _fault;
    private TaskCompletionSource? _waiters;
    private int _waiterCount; // waiters on _waiters that have not given up; _waiters is null exactly when it is 0

    public void Set()
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            wake = _waiters;
            _waiters = null;
            _waiterCount = 0;
            _pending = wake is null;
        }

        wake?.TrySetResult();
    }

    public ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource waiters;
        lock (_gate)
        {
            if (_disposed)
            {
                return ValueTask.FromException(_fault ?? new ObjectDisposedException(nameof(IEventChannel)));
            }

            if (_pending)
            {
                _pending = false;
                return ValueTask.CompletedTask;
            }

            cancellationToken.ThrowIfCancellationRequested();
            waiters = _waiters ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiterCount++;
        }

        return cancellationToken.CanBeCanceled ? WaitCancellableAsync(waiters, cancellationToken) : new ValueTask(waiters.Task);
    }

    /// <summary>Ends the signal: current and future waits fail with <paramref name="fault"/>, or <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose(Exception? fault = null)
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _fault = fault;
            wake = _waiters;
            _waiters = null;
            _waiterCount = 0;
        }

        wake?.TrySetException(fault ?? new ObjectDisposedException(nameof(IEventChannel)));
    }

    private async ValueTask WaitCancellableAsync(TaskCompletionSource waiters, CancellationToken cancellationToken)
    {
        try
        {
            await waiters.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            GiveUp(waiters);
            throw;
        }
    }

    private void GiveUp(TaskCompletionSource waiters)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_waiters, waiters))
            {
                if (--_waiterCount == 0)
                {
                    _waiters = null;
                }
            }
            else if (waiters.Task.IsCompletedSuccessfully && !_disposed)
            {
                _pending = true;
            }
        }
    }
}
