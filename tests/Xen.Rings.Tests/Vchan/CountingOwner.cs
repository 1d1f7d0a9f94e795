namespace Xen.Rings.Tests.Vchan;

/// <summary>
/// What a <see cref="Xen.Rings.Vchan.VchanStream"/> disposes when it closes: counts its disposals, and finishes each
/// one only when <see cref="Finish"/> is called (or at once, if it was made finished).
/// </summary>
internal sealed class CountingOwner(bool finishAtOnce = true) : IAsyncDisposable
{
    private readonly TaskCompletionSource _finish = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;
    private int _finished;

    /// <summary>How many times DisposeAsync was called.</summary>
    public int Started => Volatile.Read(ref _started);

    /// <summary>How many of those calls have completed.</summary>
    public int Finished => Volatile.Read(ref _finished);

    /// <summary>Lets every pending and later disposal complete.</summary>
    public void Finish() => _finish.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        Interlocked.Increment(ref _started);
        if (finishAtOnce)
        {
            await Task.Yield(); // complete asynchronously all the same, so a caller that does not wait would be seen
        }
        else
        {
            await _finish.Task;
        }

        Interlocked.Increment(ref _finished);
    }
}
