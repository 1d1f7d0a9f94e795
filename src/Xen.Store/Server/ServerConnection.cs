using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// One client of the server (a Unix-socket client, an in-process client, or a domain's ring): who it is, its watches
/// and transactions, and its queue of outgoing messages.
/// </summary>
/// <remarks>
/// <para>
/// Design. <see cref="StoreEngine"/> owns <see cref="Watches"/>, <see cref="Transactions"/> and
/// <see cref="NextTransactionId"/> and touches them only under its lock. The output queue has its own small lock,
/// because replies are queued by this connection's own loop while watch events are queued by whichever connection
/// caused them; both happen under the engine lock, and the queue is drained by the transport outside it.
/// </para>
/// <para>
/// The queue is bounded: a message past <see cref="XenStoreServerOptions.MaxQueuedMessages"/> closes the connection
/// instead of growing. <see cref="Close"/> never takes the engine lock (it may run inside it); the connection's loop
/// notices and detaches from the engine itself.
/// </para>
/// </remarks>
internal abstract class ServerConnection
{
    private readonly object _outputGate = new();
    private readonly Queue<byte[]> _output = new();
    private readonly int _maxQueued;
    private int _closed;

    /// <summary>Passed as <c>queueLimit</c> to <see cref="TakeFrames"/> when a connection takes requests whatever waits unread.</summary>
    protected const int NoQueueLimit = int.MaxValue;

    protected ServerConnection(StoreEngine engine, uint domainId, bool isPrivileged, string description, int maxQueued)
    {
        Engine = engine;
        DomainId = domainId;
        IsPrivileged = isPrivileged;
        Description = description;
        _maxQueued = Math.Max(1, maxQueued);
    }

    /// <summary>The engine this connection hands its requests to.</summary>
    protected StoreEngine Engine { get; }

    /// <summary>Completes when the connection's loop has ended and it has detached from the engine.</summary>
    public abstract Task Completion { get; }

    public uint DomainId { get; }

    /// <summary>Dom0 or the Unix socket: bypasses permission checks and quotas, may use the toolstack operations.</summary>
    public bool IsPrivileged { get; }

    public string Description { get; }

    /// <summary>The domain's record (set by the engine when the connection is attached).</summary>
    public DomainRecord? Domain { get; set; }

    public List<StoreWatch> Watches { get; } = [];

    public Dictionary<uint, StoreTransaction> Transactions { get; } = [];

    public uint NextTransactionId { get; set; }

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
            lock (_outputGate)
            {
                return _output.Count;
            }
        }
    }

    /// <summary>Queues one whole message; closes the connection instead when the queue is full.</summary>
    public void Enqueue(byte[] message)
    {
        lock (_outputGate)
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

            _output.Enqueue(message);
        }

        OnOutputQueued();
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

    /// <summary>The next queued message without removing it, or null.</summary>
    protected byte[]? PeekOutput()
    {
        lock (_outputGate)
        {
            return _output.Count == 0 ? null : _output.Peek();
        }
    }

    /// <summary>Removes the message <see cref="PeekOutput"/> returned.</summary>
    protected void DequeueOutput()
    {
        lock (_outputGate)
        {
            _output.Dequeue();
        }
    }

    /// <summary>Moves every queued message into <paramref name="destination"/> (as one byte run); false when there was none.</summary>
    protected bool TakeAllOutput(System.Buffers.ArrayBufferWriter<byte> destination)
    {
        lock (_outputGate)
        {
            if (_output.Count == 0)
            {
                return false;
            }

            while (_output.TryDequeue(out byte[]? m))
            {
                m.CopyTo(destination.GetSpan(m.Length));
                destination.Advance(m.Length);
            }

            return true;
        }
    }

    /// <summary>Drops every queued message (ring reconnection).</summary>
    protected void ClearOutput()
    {
        lock (_outputGate)
        {
            _output.Clear();
        }
    }

    /// <summary>
    /// Hands every whole request at the front of <paramref name="buffer"/> (<paramref name="filled"/> bytes) to the
    /// engine, while fewer than <paramref name="queueLimit"/> messages wait unread, and moves what is left to the front.
    /// The one loop that cuts requests out of a byte stream, for socket, in-process and ring connections alike.
    /// </summary>
    /// <returns>
    /// <see langword="false"/> when a header announced more than 4096 payload bytes: nothing after it can be trusted,
    /// and the caller ends the stream (a socket is closed, a ring gets <c>error</c> PROTO). What came before it was handled.
    /// </returns>
    protected bool TakeFrames(byte[] buffer, ref int filled, int queueLimit)
    {
        int consumed = 0;
        bool framed = true;
        while (!IsClosed && (queueLimit == NoQueueLimit || QueuedCount < queueLimit))
        {
            XsFrameStatus status = XsFrameReader.Read(buffer.AsSpan(consumed, filled - consumed), out XsHeader header);
            if (status != XsFrameStatus.Frame)
            {
                framed = status == XsFrameStatus.NeedMore;
                break;
            }

            Engine.Process(this, header, buffer.AsSpan(consumed + XsHeader.HeaderLength, (int)header.Length));
            consumed += header.FrameLength;
        }

        buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
        filled -= consumed;
        return framed;
    }

    /// <summary>Called after a message was queued (on any thread, possibly under the engine lock): arrange for it to be sent.</summary>
    protected abstract void OnOutputQueued();

    /// <summary>Called once when the connection is closed: stop the transport.</summary>
    protected abstract void OnClosed();
}
