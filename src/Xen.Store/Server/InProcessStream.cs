namespace Xen.Store.Server;

/// <summary>
/// One direction of an in-process connection: a bounded byte queue with an async reader and an async writer, which
/// behaves like a socket (a writer waits while the reader does not read, so a client that stops reading is seen by
/// the server exactly as over a socket).
/// </summary>
/// <remarks>
/// Design: one lock guards the circular buffer and the two waiter slots. There is at most one reader and one writer
/// at a time (the client serialises its sends; the server has one reader and one drainer), so a single
/// <see cref="TaskCompletionSource"/> per side is enough. Completions run asynchronously so no continuation runs
/// under the lock.
/// </remarks>
internal sealed class InProcessStream
{
    private readonly object _gate = new();
    private readonly byte[] _buffer;
    private int _start;
    private int _count;
    private bool _completed;
    private TaskCompletionSource? _readerWaiting;
    private TaskCompletionSource? _writerWaiting;

    public InProcessStream(int capacity = 64 * 1024) => _buffer = new byte[capacity];

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            Task wait;
            lock (_gate)
            {
                if (_completed)
                {
                    throw new IOException("The in-process xenstore connection is closed.");
                }

                int free = _buffer.Length - _count;
                if (free > 0)
                {
                    int n = Math.Min(free, data.Length);
                    int tail = (_start + _count) % _buffer.Length;
                    int first = Math.Min(n, _buffer.Length - tail);
                    data.Span[..first].CopyTo(_buffer.AsSpan(tail));
                    data.Span[first..n].CopyTo(_buffer);
                    _count += n;
                    data = data[n..];
                    Wake(ref _readerWaiting);
                    continue;
                }

                _writerWaiting ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _writerWaiting.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (destination.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_count > 0)
                {
                    int n = Math.Min(_count, destination.Length);
                    int first = Math.Min(n, _buffer.Length - _start);
                    _buffer.AsSpan(_start, first).CopyTo(destination.Span);
                    _buffer.AsSpan(0, n - first).CopyTo(destination.Span[first..]);
                    _start = (_start + n) % _buffer.Length;
                    _count -= n;
                    Wake(ref _writerWaiting);
                    return n;
                }

                if (_completed)
                {
                    return 0;
                }

                _readerWaiting ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _readerWaiting.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ends the stream: the reader gets the remaining bytes and then 0; writers fail.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            Wake(ref _readerWaiting);
            Wake(ref _writerWaiting);
        }
    }

    private static void Wake(ref TaskCompletionSource? waiter)
    {
        waiter?.TrySetResult();
        waiter = null;
    }
}
