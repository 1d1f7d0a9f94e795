using System.Buffers;
using Xen.Store.Transports;
using Xen.Store.Wire;

namespace Xen.Store.Client.Internal;

/// <summary>
/// The requests of one connection on their way out and back: request ids, the table of requests waiting for a reply
/// and its pool, the outgoing buffer and the one sender at a time. The receive loop takes each reply's request out of
/// the table by <c>req_id</c> (<see cref="Take"/>); <see cref="FailAll"/> ends every waiting request at once.
/// </summary>
/// <remarks>
/// A message is written whole into the outgoing buffer under the lock. The caller that finds no send under way becomes
/// the sender and sends everything queued, including what other callers add meanwhile, so a message never goes out in
/// pieces and requests from many threads leave in few system calls.
/// </remarks>
internal sealed class RequestPipeline
{
    private const int InitialOutgoingBuffer = 4096;
    private const int MaxIdleOutgoingBuffer = 1 << 20;
    private const int MaxFreeRequests = 1024;

    private readonly object _gate = new();
    private readonly Dictionary<uint, PendingRequest> _pending = [];
    private readonly Stack<PendingRequest> _freeRequests = new();
    private readonly bool _inlineCompletions;
    private readonly ClientMetrics _metrics;
    private IXenStoreTransport _transport;
    private Exception? _fault;
    private uint _nextRequestId;
    private bool _sending;
    private ArrayBufferWriter<byte> _outgoing = new(InitialOutgoingBuffer);
    private ArrayBufferWriter<byte> _spareOutgoing = new(InitialOutgoingBuffer);

    public RequestPipeline(IXenStoreTransport transport, bool inlineCompletions, ClientMetrics metrics)
    {
        _transport = transport;
        _inlineCompletions = inlineCompletions;
        _metrics = metrics;
    }

    /// <summary>The transport requests go out on (replaced by <see cref="Replace"/> on reconnection).</summary>
    public IXenStoreTransport Transport
    {
        get
        {
            lock (_gate)
            {
                return _transport;
            }
        }
    }

    /// <summary>Why the connection failed for good, or null.</summary>
    public Exception? Fault => Volatile.Read(ref _fault);

    /// <summary>How many requests wait for a reply.</summary>
    public int WaitingCount
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>
    /// Queues one request and returns its reply. <paramref name="undoIfAbandoned"/>, when given, runs with the reply if
    /// the caller's wait was cancelled after the request went out and the daemon then carried it out.
    /// </summary>
    /// <exception cref="XenStoreConnectionException">The connection failed earlier.</exception>
    public ValueTask<byte[]> RequestAsync(XsMessageType type, uint transactionId, ReadOnlySpan<string> arguments, ReadOnlySpan<byte> tail, string? subject, Func<byte[], ValueTask>? undoIfAbandoned, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<byte[]>(cancellationToken);
        }

        int length = XsMessageWriter.MessageLength(type, arguments, tail); // throws before anything is queued
        PendingRequest pending;
        bool send;
        lock (_gate)
        {
            if (_fault is Exception fault)
            {
                throw Rethrowable(fault);
            }

            uint requestId;
            do
            {
                requestId = unchecked(++_nextRequestId);
            }
            while (requestId == 0 || _pending.ContainsKey(requestId));

            XsMessageWriter.WriteMessage(_outgoing.GetSpan(length), length, type, requestId, transactionId, arguments, tail);
            _outgoing.Advance(length);
            pending = _freeRequests.Count > 0 ? _freeRequests.Pop() : new PendingRequest(this, _inlineCompletions);
            pending.Start(type, subject, _metrics.RequestStarting());
            _pending.Add(requestId, pending);
            send = !_sending;
            _sending = true;
        }

        if (send)
        {
            _ = SendQueuedAsync(); // usually done at once; else it carries on, and reports failures through FailAll
        }

        var reply = new ValueTask<byte[]>(pending, pending.Version);
        return cancellationToken.CanBeCanceled || undoIfAbandoned is not null
            ? WaitCancellableAsync(reply, undoIfAbandoned, cancellationToken)
            : reply;
    }

    /// <summary>Takes the request waiting for the reply <paramref name="requestId"/> out of the table; null if none waits.</summary>
    public PendingRequest? Take(uint requestId)
    {
        lock (_gate)
        {
            _pending.Remove(requestId, out PendingRequest? pending);
            return pending;
        }
    }

    /// <summary>Sends further requests on <paramref name="transport"/> (a reconnection's new one).</summary>
    public void Replace(IXenStoreTransport transport)
    {
        lock (_gate)
        {
            _transport = transport;
        }
    }

    /// <summary>
    /// Fails every waiting request with <paramref name="error"/> and drops what is queued and unsent; when
    /// <paramref name="permanent"/>, every later request fails at once too.
    /// </summary>
    public void FailAll(Exception error, bool permanent)
    {
        PendingRequest[] pending;
        lock (_gate)
        {
            if (permanent)
            {
                _fault ??= error;
            }

            pending = [.. _pending.Values];
            _pending.Clear();
            _outgoing.ResetWrittenCount(); // their requests are failed below; never send them later
        }

        foreach (PendingRequest p in pending)
        {
            p.Fail(error);
        }
    }

    internal void Recycle(PendingRequest request)
    {
        lock (_gate)
        {
            if (_freeRequests.Count < MaxFreeRequests)
            {
                _freeRequests.Push(request);
            }
        }
    }

    /// <summary>Sends what is queued until the queue is empty; the one sender at a time.</summary>
    private async Task SendQueuedAsync()
    {
        while (true)
        {
            ArrayBufferWriter<byte> batch;
            IXenStoreTransport transport;
            lock (_gate)
            {
                if (_outgoing.WrittenCount == 0)
                {
                    _sending = false;
                    return;
                }

                batch = _outgoing;
                _outgoing = _spareOutgoing;
                _spareOutgoing = batch;
                transport = _transport;
            }

            try
            {
                await transport.SendAsync(batch.WrittenMemory, CancellationToken.None).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Whatever the transport throws, the requests it carried must fail, not hang.
            catch (Exception e)
#pragma warning restore CA1031
            {
                FailAll(new XenStoreConnectionException($"Sending to {transport.Description} failed: {e.Message}", e), permanent: true);
            }

            lock (_gate)
            {
                batch.ResetWrittenCount();
                if (batch.Capacity > MaxIdleOutgoingBuffer)
                {
                    _spareOutgoing = new ArrayBufferWriter<byte>(InitialOutgoingBuffer);
                }
            }
        }
    }

    private static async ValueTask<byte[]> WaitCancellableAsync(ValueTask<byte[]> reply, Func<byte[], ValueTask>? undoIfAbandoned, CancellationToken cancellationToken)
    {
        Task<byte[]> task = reply.AsTask();
        try
        {
            return await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (undoIfAbandoned is not null && cancellationToken.IsCancellationRequested)
        {
            _ = UndoIfCarriedOutAsync(task, undoIfAbandoned);
            throw;
        }
    }

    private static async Task UndoIfCarriedOutAsync(Task<byte[]> request, Func<byte[], ValueTask> undo)
    {
        try
        {
            byte[] reply = await request.ConfigureAwait(false);
            await undo(reply).ConfigureAwait(false);
        }
        catch (Exception e) when (e is XenStoreException or ObjectDisposedException)
        {
            // The daemon refused the request, or the connection is gone and the daemon dropped its state with it.
        }
    }

    private static XenStoreConnectionException Rethrowable(Exception fault) => fault switch
    {
        XenStoreProtocolException p => new XenStoreConnectionException($"The connection failed earlier: {p.Message}", p),
        XenStoreConnectionException c => new XenStoreConnectionException(c.Message, c),
        _ => new XenStoreConnectionException(fault.Message, fault),
    };
}
