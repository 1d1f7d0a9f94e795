using System.Buffers;
using System.Buffers.Binary;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// One client of the server (a Unix-socket client, an in-process client, or a domain's ring): who it is, its watches
/// and transactions, and its queue of outgoing messages.
/// </summary>
/// <remarks>
/// <para>
/// Design. The engine (<see cref="IStoreEngine"/>) owns <see cref="State"/> (watches, transactions, the domain's record) and
/// touches it only under its lock. The output queue has its own small lock,
/// because replies are queued by this connection's own loop while watch events are queued by whichever connection
/// caused them; both happen under the engine lock, and the queue is drained by the transport outside it.
/// </para>
/// <para>
/// The queue is bounded: a message past <see cref="XenStoreServerOptions.MaxQueuedMessages"/> closes the connection
/// instead of growing; a watch event for a guest that waits unsent past <see cref="XenStoreServerOptions.WatchEventTimeout"/>
/// is dropped when the transport next looks at the queue (C xenstored drops it from its poll loop; either way the guest
/// never receives it). <see cref="Close"/> never takes the engine lock (it may run inside it); the connection's loop
/// notices and detaches from the engine itself.
/// </para>
/// </remarks>
internal abstract class ServerConnection
{
    // DropAfter: a Stopwatch timestamp, 0 for never; Ticket: see Journal. The queue is its own lock (one object fewer
    // per connection: thousands of idle ones are the case that counts).
    private readonly Queue<(byte[] Message, long DropAfter, long Ticket)> _output = new();
    private readonly int _maxQueued;
    private readonly long _watchEventTicks;
    private static long _lastTraceId;
    private int _closed;

    /// <param name="domainId">The domain the connection speaks for.</param>
    /// <param name="isPrivileged">Dom0 or the Unix socket.</param>
    /// <param name="description">What it is, for logs and tests.</param>
    /// <param name="maxQueued">The bound of the output queue.</param>
    /// <param name="watchEventTimeout">How long a watch event may wait unsent before it is dropped (only for an
    /// unprivileged connection; zero or privileged: never).</param>
    protected ServerConnection(uint domainId, bool isPrivileged, string description, int maxQueued, TimeSpan watchEventTimeout = default)
    {
        DomainId = domainId;
        IsPrivileged = isPrivileged;
        Description = description;
        _maxQueued = Math.Max(1, maxQueued);
        _watchEventTicks = isPrivileged ? 0 : (long)(watchEventTimeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
    }

    public uint DomainId { get; }

    /// <summary>The connection's number in the trace (C xenstored prints its address): unique in the process.</summary>
    public long TraceId { get; } = Interlocked.Increment(ref _lastTraceId);

    /// <summary>The engine's trace, which logs what is queued for it (when the trace is on); set when the engine registers it.</summary>
    public StoreTrace? Trace { get; set; }

    /// <summary>
    /// The journal of a server with a state directory (set when the engine registers the connection): a message leaves
    /// only once the journal has kept everything done before it was queued (<see cref="Durability.StoreJournal"/>).
    /// </summary>
    public Durability.StoreJournal? Journal { get; set; }

    /// <summary>The server's instruments (set when the engine registers the connection), which count the watch events dropped unsent.</summary>
    public ServerMetrics? Metrics { get; set; }

    /// <summary>What carries the connection, as the metrics tag it: <c>socket</c>, <c>ring</c> or <c>in-process</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>Dom0 or the Unix socket: bypasses permission checks and quotas, may use the toolstack operations.</summary>
    public bool IsPrivileged { get; }

    public string Description { get; }

    /// <summary>The protocol's state of this connection: the engine's, touched only under its lock.</summary>
    public ConnectionState State { get; } = new();

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Whether the connection was closed because it stopped reading and its queue filled.</summary>
    public bool ClosedForOverflow { get; private set; }

    /// <summary>Why the connection was closed (for logs and tests).</summary>
    public string? CloseReason { get; private set; }

    /// <summary>How many messages wait to be sent.</summary>
    public int QueuedCount
    {
        get
        {
            lock (_output)
            {
                return _output.Count;
            }
        }
    }

    /// <summary>Queues one whole message; closes the connection instead when the queue is full.</summary>
    public void Enqueue(byte[] message)
    {
        var type = (XsMessageType)BinaryPrimitives.ReadUInt32LittleEndian(message);
        lock (_output)
        {
            if (IsClosed)
            {
                return;
            }

            if (_output.Count >= _maxQueued)
            {
                ClosedForOverflow = true;
                Close($"{_output.Count} messages queued and not read");
                return;
            }

            long dropAfter = _watchEventTicks > 0 && type == XsMessageType.WatchEvent ? System.Diagnostics.Stopwatch.GetTimestamp() + _watchEventTicks : 0;
            _output.Enqueue((message, dropAfter, Journal?.CurrentTicket ?? 0));
        }

        Trace?.Io(output: true, this, type, message.AsSpan(XsHeader.HeaderLength));
        OnOutputQueued();
    }

    /// <summary>
    /// Queues bytes a live update carried over from the process before (<see cref="LiveUpdate.CarriedConnection.Output"/>):
    /// the rest of a message partly sent, then whole ones, sent before anything queued later.
    /// </summary>
    public void EnqueueCarried(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue((bytes, 0, 0));
        }

        OnOutputQueued();
    }

    /// <summary>
    /// What a live update carries of this connection into the new process, or null when it cannot go (an in-process
    /// client, whose other end is in this process). Called under the engine lock, frozen, once <see cref="IsQuiet"/>.
    /// </summary>
    public virtual LiveUpdate.CarriedConnection? CarryOver() => null;

    /// <summary>While the engine is frozen: whether no thread is touching the connection's buffers any more.</summary>
    public virtual bool IsQuiet => true;

    /// <summary>Every queued byte (from <paramref name="skip"/> bytes into the first message, which are sent already), for <see cref="CarryOver"/>.</summary>
    protected byte[] QueuedBytes(int skip)
    {
        lock (_output)
        {
            var all = new List<byte>();
            foreach (var (message, _, _) in _output)
            {
                all.AddRange(message.AsSpan(skip));
                skip = 0;
            }

            return [.. all];
        }
    }

    /// <summary>Closes the connection (idempotent; never blocks and never takes the engine lock).</summary>
    public void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        CloseReason = reason;
        OnClosed();
    }

    /// <summary>
    /// The next queued message without removing it, or null. Unless <paramref name="started"/> (part of the front message
    /// is already sent), watch events at the front that waited past their time are dropped first.
    /// </summary>
    protected byte[]? PeekOutput(bool started = false)
    {
        lock (_output)
        {
            if (!started && _watchEventTicks > 0)
            {
                long now = System.Diagnostics.Stopwatch.GetTimestamp();
                int dropped = 0;
                while (_output.TryPeek(out var front) && front.DropAfter != 0 && now > front.DropAfter)
                {
                    _output.Dequeue();
                    dropped++;
                }

                if (dropped > 0)
                {
                    Metrics?.WatchEventsDropped(dropped);
                }
            }

            return _output.TryPeek(out var next) && Releasable(next.Ticket) ? next.Message : null;
        }
    }

    /// <summary>The journal has kept what the message waits for (the messages behind it carry later tickets).</summary>
    public void OutputReady() => OnOutputQueued();

    /// <summary>
    /// Whether a message with <paramref name="ticket"/> may leave now; if not, the journal wakes the connection when it
    /// may (under the output queue's lock, which the journal never takes).
    /// </summary>
    private bool Releasable(long ticket)
    {
        while (Journal is { } journal && ticket > journal.DurableTicket)
        {
            if (journal.WaitFor(this, ticket))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Gives back the output queue's storage when nothing is queued (a connection going idle: it would otherwise keep
    /// room for the most replies it ever had queued at once, 96 bytes at the least, for as long as it stays idle).
    /// </summary>
    protected void TrimIdleOutput()
    {
        lock (_output)
        {
            if (_output.Count == 0)
            {
                _output.TrimExcess();
            }
        }
    }

    /// <summary>Removes the message <see cref="PeekOutput"/> returned.</summary>
    protected void DequeueOutput()
    {
        lock (_output)
        {
            _output.Dequeue();
        }
    }

    /// <summary>
    /// Moves every queued message, as one byte run, into an array rented from <see cref="ArrayPool{T}.Shared"/> (which
    /// the caller returns); null when nothing is queued that may leave yet.
    /// </summary>
    protected byte[]? TakeAllOutput(out int length)
    {
        lock (_output)
        {
            length = 0;
            int count = 0;
            foreach (var queued in _output)
            {
                if (!Releasable(queued.Ticket))
                {
                    break;
                }

                length += queued.Message.Length;
                count++;
            }

            if (count == 0)
            {
                return null;
            }

            byte[] run = ArrayPool<byte>.Shared.Rent(length);
            int at = 0;
            for (; count > 0; count--)
            {
                byte[] m = _output.Dequeue().Message; // privileged (a socket): never dropped for age
                m.CopyTo(run, at);
                at += m.Length;
            }

            return run;
        }
    }

    /// <summary>Drops every queued message (ring reconnection).</summary>
    protected void ClearOutput()
    {
        lock (_output)
        {
            _output.Clear();
        }
    }

    /// <summary>
    /// Hands every whole message at the front of <paramref name="buffer"/> (<paramref name="filled"/> bytes) to
    /// <paramref name="engine"/> and moves what is left of a partial one to the front.
    /// </summary>
    /// <returns><see langword="false"/> when the connection is over: a header announced more than 4096 payload bytes
    /// (the connection is closed, since nothing after such a header can be trusted), or a request closed it.</returns>
    protected bool TakeFrames(IStoreEngine engine, byte[] buffer, ref int filled)
    {
        if (TakeFrames(engine, buffer, ref filled, int.MaxValue, out XsHeader oversized) == XsFrameStatus.Oversized)
        {
            Close(XsFrameReader.DescribeOversized(oversized));
            return false;
        }

        return !IsClosed;
    }

    /// <summary>
    /// The one loop that cuts requests out of a connection's input, shared by byte streams and rings: hands whole
    /// messages to <paramref name="engine"/> while fewer than <paramref name="queueLimit"/> messages wait to be sent
    /// (a ring's outstanding quota), then moves what is left to the front of <paramref name="buffer"/>.
    /// </summary>
    /// <returns><see cref="XsFrameStatus.Oversized"/> (with its header) when a header announced more than 4096
    /// payload bytes, whose handling is the caller's; otherwise <see cref="XsFrameStatus.NeedMore"/>.</returns>
    protected XsFrameStatus TakeFrames(IStoreEngine engine, byte[] buffer, ref int filled, int queueLimit, out XsHeader oversized)
    {
        oversized = default;
        int consumed = 0;
        XsFrameStatus status = XsFrameStatus.NeedMore;
        while (!IsClosed && !engine.Frozen && (queueLimit == int.MaxValue || QueuedCount < queueLimit))
        {
            ReadOnlySpan<byte> data = buffer.AsSpan(consumed, filled - consumed);
            status = XsFrameReader.Read(data, out XsHeader header);
            if (status != XsFrameStatus.Frame)
            {
                oversized = header;
                break;
            }

            engine.Process(this, header, data.Slice(XsHeader.HeaderLength, (int)header.Length));
            consumed += header.FrameLength;
        }

        buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
        filled -= consumed;
        return status == XsFrameStatus.Oversized ? status : XsFrameStatus.NeedMore;
    }

    /// <summary>Completes once the connection has ended, been detached from the engine and released its transport.</summary>
    public abstract Task Completion { get; }

    /// <summary>
    /// INTRODUCE of a domain already introduced (called under the engine lock, which has reset the connection's watches
    /// and transactions): a ring connection rebinds its event channel to <paramref name="port"/> and empties its ring, as
    /// C xenstored does for a guest that comes back (resume, kexec). Nothing for other transports.
    /// </summary>
    /// <exception cref="Xen.Rings.Host.XenHostException">The new channel could not be bound (the old one stays).</exception>
    public virtual void Reintroduce(uint port)
    {
    }

    /// <summary>Called after a message was queued (on any thread, possibly under the engine lock): arrange for it to be sent.</summary>
    protected abstract void OnOutputQueued();

    /// <summary>Called once when the connection is closed: stop the transport.</summary>
    protected abstract void OnClosed();
}
