using System.Buffers;

namespace Xen.Store.Server;

/// <summary>
/// What a connection over a byte stream shares whichever way it is served (<see cref="InProcessConnection"/>:
/// asynchronously; <see cref="SocketConnection"/>: by the socket workers): cutting messages out of the
/// stream, and the rule for who sends what is queued.
/// </summary>
/// <remarks>
/// <para>
/// Design. One reader cuts whole messages out of the stream and hands each to the engine, which queues the replies
/// (and any watch events) on the connections concerned. After each read the reader itself sends what is queued for
/// its own connection, so a request's reply goes out on the thread that read it, and a client that stops reading
/// stops its reader (back-pressure, as over a socket). Watch events queued by other connections while the reader is
/// idle are sent by a drain started on the thread pool (<see cref="StartDrain"/>).
/// </para>
/// <para>
/// Exactly one drain runs at a time (<c>_draining</c>, guarded by <c>_drainGate</c>); while the reader is handing a
/// batch to the engine (<c>_readerActive</c>) no background drain is started, because the reader drains right after.
/// Lock order: <c>_drainGate</c> before the output queue's lock; the engine lock is never taken under either.
/// </para>
/// </remarks>
internal abstract class ByteStreamConnection : ServerConnection
{
    private readonly object _drainGate = new();
    private byte[]? _batch; // rented by the one drain that runs, returned when it ends (an idle connection holds none)
    private int _batchLength;
    private bool _draining;
    private bool _readerActive;

    protected ByteStreamConnection(IStoreEngine engine, uint domainId, string description, int maxQueued)
        : base(domainId, isPrivileged: domainId == 0, description, maxQueued) => Engine = engine;

    protected IStoreEngine Engine { get; }

    /// <summary>The bytes <see cref="TakeBatch"/> moved out of the queue.</summary>
    protected ReadOnlyMemory<byte> Batch => _batch.AsMemory(0, _batchLength);

    /// <summary>Starts a drain (<see cref="TakeBatch"/> and send, until it says stop) on the thread pool.</summary>
    protected abstract void StartDrain();

    protected sealed override void OnOutputQueued()
    {
        lock (_drainGate)
        {
            if (_readerActive || _draining)
            {
                return;
            }

            _draining = true;
        }

        StartDrain();
    }

    /// <summary>
    /// Takes <paramref name="n"/> newly received bytes into <paramref name="buffer"/> and hands the whole messages to
    /// the engine, with no background drain started meanwhile.
    /// </summary>
    /// <returns><see langword="false"/> when the connection is over (the client closed it, sent an oversized frame,
    /// or a request closed it).</returns>
    protected bool Received(byte[] buffer, ref int filled, int n)
    {
        if (n == 0)
        {
            Close("the client closed the connection");
            return false;
        }

        filled += n;
        return HandleReceived(buffer, ref filled);
    }

    /// <summary>Hands the whole messages already in <paramref name="buffer"/> to the engine (bytes received before, or carried over a live update).</summary>
    protected bool HandleReceived(byte[] buffer, ref int filled)
    {
        lock (_drainGate)
        {
            _readerActive = true;
        }

        try
        {
            return TakeFrames(Engine, buffer, ref filled);
        }
        finally
        {
            lock (_drainGate)
            {
                _readerActive = false;
            }
        }
    }

    /// <summary>Whether the reader should send what is queued now (no other drain runs, and something is queued).</summary>
    protected bool ClaimDrain()
    {
        lock (_drainGate)
        {
            bool drain = !_draining && QueuedCount > 0;
            _draining |= drain;
            return drain;
        }
    }

    /// <summary>Whether a drain is sending (its batch is out of the queue and partly sent).</summary>
    protected bool IsDraining
    {
        get
        {
            lock (_drainGate)
            {
                return _draining;
            }
        }
    }

    /// <summary>Moves everything queued into <see cref="Batch"/>; when nothing is queued, ends this drain.</summary>
    protected bool TakeBatch()
    {
        ReturnBatch();
        lock (_drainGate)
        {
            _batch = TakeAllOutput(out _batchLength);
            if (_batch is not null)
            {
                return true;
            }

            _draining = false;
            return false;
        }
    }

    /// <summary>A drain's send failed: the connection is closed and the drain over.</summary>
    protected void DrainFailed(Exception e)
    {
        Close("sending failed: " + e.Message);
        ReturnBatch();
        lock (_drainGate)
        {
            _draining = false;
        }
    }

    private void ReturnBatch()
    {
        if (_batch is not null)
        {
            ArrayPool<byte>.Shared.Return(_batch);
            _batch = null;
            _batchLength = 0;
        }
    }
}
