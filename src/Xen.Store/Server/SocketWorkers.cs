namespace Xen.Store.Server;

/// <summary>
/// The bounded set of threads that serve a server's Unix-socket connections, and the queue of connections that are
/// ready to be served. A connection is served by one worker at a time, from when it becomes readable until it has been
/// quiet for <see cref="Keep"/> (then it parks, holding no thread: <see cref="AcceptedSocket.Park"/>) or until another
/// connection waits for a worker (then it yields, to the back of the queue).
/// </summary>
/// <remarks>
/// <para>
/// Why this shape. A thread blocked on one client's socket answers that client's next request with a single wake-up,
/// which measured about half the round trip of the runtime's asynchronous path (socket engine, then a thread-pool hop);
/// so a busy connection keeps its worker while it stays busy, and a few busy clients are served as a thread per
/// connection would serve them. Idle connections cost no thread: hundreds of them (one per device model, toolstack
/// process and <c>xenstore-watch</c> on a host) park, and the threads stay at most <see cref="MaxThreads"/>.
/// </para>
/// <para>
/// Fairness. When every worker is taken, a connection made ready waits in the queue; a worker looks at the queue after
/// each batch of requests it serves and yields when someone waits, and a worker waiting on a quiet connection waits at
/// most <see cref="Keep"/>. A flooding client thus gets one worker's share, never all of them.
/// </para>
/// <para>
/// Workers start on demand (while more connections wait than workers are idle, up to the bound) and end after
/// <see cref="IdleExit"/> without work, so an idle server runs none.
/// </para>
/// </remarks>
internal sealed class SocketWorkers
{
    /// <summary>
    /// How long a worker waits on a quiet connection for its next request before parking it: long enough for a client's
    /// request-at-a-time loop (tens of microseconds between requests) to stay on its worker, short enough that a connection
    /// queued behind busy workers waits little.
    /// </summary>
    public static readonly TimeSpan Keep = TimeSpan.FromMilliseconds(2);

    /// <summary>How long a worker with nothing to serve lives on.</summary>
    public static readonly TimeSpan IdleExit = TimeSpan.FromSeconds(30);

    private readonly object _gate = new();
    private readonly Queue<SocketConnection> _ready = new();
    private readonly List<SocketConnection> _held = []; // made ready while frozen
    private bool _frozen;
    private readonly SocketSpin? _spin;
    private SocketEpoll? _epoll;
    private int _threads;
    private int _peakThreads;
    private int _idle;
    private int _waiting;
    private bool _stopped;

    /// <param name="maxThreads">The bound of the worker threads (at least 1).</param>
    /// <param name="spin">The busy wait workers share before they sleep, or null.</param>
    public SocketWorkers(int maxThreads, SocketSpin? spin)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxThreads, 1);
        MaxThreads = maxThreads;
        _spin = spin;

    }

    /// <summary>The bound of the worker threads.</summary>
    public int MaxThreads { get; }

    /// <summary>The most worker threads that ever ran at once.</summary>
    public int PeakThreads => Volatile.Read(ref _peakThreads);

    /// <summary>The busy wait the workers share, or null.</summary>
    public SocketSpin? Spin => _spin;

    /// <summary>Whether a connection waits in the queue for a worker (a worker serving another should yield).</summary>
    public bool HasWaiting => Volatile.Read(ref _waiting) > 0;

    /// <summary>Queues <paramref name="connection"/> to be served (it is readable, or has work to finish); starts a worker if none is free.</summary>
    public void Ready(SocketConnection connection)
    {
        bool start = false;
        lock (_gate)
        {
            if (_frozen)
            {
                _held.Add(connection);
                return;
            }

            _ready.Enqueue(connection);
            _waiting = _ready.Count;
            if (_idle > 0)
            {
                Monitor.Pulse(_gate);
            }

            if (_ready.Count > _idle && _threads < MaxThreads)
            {
                _threads++;
                _peakThreads = Math.Max(_peakThreads, _threads);
                start = true;
            }
        }

        if (start)
        {
            new Thread(Run) { IsBackground = true, Name = "xenstored-socket" }.UnsafeStart();
        }
    }

    /// <summary>Whether a live update has frozen the workers: a connection on a worker goes back (held) instead of being served on.</summary>
    public bool Frozen => Volatile.Read(ref _frozen);

    /// <summary>A live update begins: connections made ready from now on are held, not served.</summary>
    public void Freeze()
    {
        lock (_gate)
        {
            _frozen = true;
            _epoll?.Freeze();
        }
    }

    /// <summary>The live update failed: the held connections are served again.</summary>
    public void Thaw()
    {
        SocketConnection[] held;
        lock (_gate)
        {
            _frozen = false;
            held = [.. _held];
            _held.Clear();
            _epoll?.Thaw();
        }

        foreach (SocketConnection c in held)
        {
            Ready(c);
        }
    }

    /// <summary>The epoll sets the connections' descriptors wait in when no worker serves them (Linux; created on first use).</summary>
    public SocketEpoll Epoll
    {
        get
        {
            if (Volatile.Read(ref _epoll) is { } epoll)
            {
                return epoll;
            }

            lock (_gate)
            {
                return _epoll ??= new SocketEpoll();
            }
        }
    }

    /// <summary>Lets the workers end once the queue is empty and stops the epoll sets (after the server closed every connection).</summary>
    public void Stop()
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.PulseAll(_gate);
        }

        _epoll?.Stop();
    }

    private void Run()
    {
        _spin?.Started();
        bool awake = true;
        try
        {
            while (Take(ref awake) is { } connection)
            {
                connection.Serve();
            }
        }
        finally
        {
            if (awake)
            {
                _spin?.Ended();
            }
        }
    }

    /// <summary>The next ready connection, waiting for one; null when this worker should end (stopped, or idle too long).</summary>
    private SocketConnection? Take(ref bool awake)
    {
        lock (_gate)
        {
            while (_ready.Count == 0)
            {
                if (_stopped)
                {
                    _threads--;
                    return null;
                }

                if (awake)
                {
                    _spin?.Idle();
                    awake = false;
                }

                _idle++;
                bool signalled = Monitor.Wait(_gate, IdleExit);
                _idle--;
                if (!signalled && _ready.Count == 0)
                {
                    _threads--;
                    return null;
                }
            }

            SocketConnection next = _ready.Dequeue();
            _waiting = _ready.Count;
            if (!awake)
            {
                _spin?.Started();
                awake = true;
            }

            return next;
        }
    }
}
