namespace Xen.Rings.Events;

/// <summary>
/// An auto-reset signal with a pending flag: <see cref="Set"/> wakes the current waiters or, if there are none,
/// leaves the signal set so the next <see cref="WaitAsync"/> completes at once. The fast path (a pending signal)
/// allocates nothing; a wait that blocks allocates one task shared by all its waiters.
/// </summary>
internal sealed class AsyncSignal
{
    private readonly object _gate = new();
    private bool _pending;
    private bool _disposed;
    private TaskCompletionSource? _waiters;

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
            _pending = wake is null;
        }

        wake?.TrySetResult();
    }

    public ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        Task task;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_pending)
            {
                _pending = false;
                return ValueTask.CompletedTask;
            }

            cancellationToken.ThrowIfCancellationRequested();
            _waiters ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            task = _waiters.Task;
        }

        return cancellationToken.CanBeCanceled ? new ValueTask(task.WaitAsync(cancellationToken)) : new ValueTask(task);
    }

    public void Dispose()
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            _disposed = true;
            wake = _waiters;
            _waiters = null;
        }

        wake?.TrySetException(new ObjectDisposedException(nameof(IEventChannel)));
    }
}
