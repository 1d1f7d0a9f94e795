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
    private Exception? _fault;
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
            _waiters ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            task = _waiters.Task;
        }

        return cancellationToken.CanBeCanceled ? new ValueTask(task.WaitAsync(cancellationToken)) : new ValueTask(task);
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
        }

        wake?.TrySetException(fault ?? new ObjectDisposedException(nameof(IEventChannel)));
    }
}
