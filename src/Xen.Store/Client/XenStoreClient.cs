using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Xen.Store.Transports;
using Xen.Store.Wire;

namespace Xen.Store.Client;

/// <summary>
/// A xenstore connection: every operation of the protocol, pipelined (any number of requests from any number of
/// threads in flight at once, matched to replies by <c>req_id</c>), with watches as async streams and
/// transactions as objects.
/// </summary>
/// <remarks>
/// <para>
/// Design. One receive loop owns the transport's read side: it cuts frames out of the byte stream
/// (<see cref="XsFrameReader"/>), completes the request whose <c>req_id</c> the reply carries, and hands watch events
/// to their watch's bounded queue (never blocking on a slow consumer). Requests are written whole into one
/// outgoing buffer under the client's lock, and the first caller that finds no send under way sends everything
/// queued (so a message never goes out in pieces, and many requests leave in one system call). A frame the daemon should never send (over 4096 bytes, a reply to no request) is a
/// protocol error: the connection is closed and every waiting request fails with it.
/// </para>
/// <para>
/// Cancellation of a request stops the caller waiting; the request may still be carried out by the daemon, and
/// its reply is discarded when it arrives. Where that would leave state behind at the daemon (a WATCH or a
/// TRANSACTION_START whose caller gave up), the client undoes it when the reply arrives (UNWATCH, or
/// TRANSACTION_END with <c>F</c>), so a cancelled call leaves no watch, no open transaction and no used quota.
/// </para>
/// </remarks>
public sealed partial class XenStoreClient : XenStoreOperations, IRequestSender, IAsyncDisposable, IDisposable
{
    private readonly XenStoreClientOptions _options;
    private readonly object _gate = new();
    private readonly Dictionary<uint, PendingRequest> _pending = [];
    private readonly List<XenStoreWatch> _watches = [];
    private readonly Stack<PendingRequest> _freeRequests = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly long _spinTicks;
    private IXenStoreTransport _transport;
    private Task _receiveLoop;
    private uint _nextRequestId;
    private long _watchCounter;
    private long _eventSequence;
    private Exception? _fault;
    private int _generation;
    private bool _disposed;
    private bool _sending;
    private ArrayBufferWriter<byte> _outgoing = new(InitialOutgoingBuffer);
    private ArrayBufferWriter<byte> _spareOutgoing = new(InitialOutgoingBuffer);

    private const int InitialOutgoingBuffer = 4096;
    private const int MaxIdleOutgoingBuffer = 1 << 20;
    private const int MaxFreeRequests = 1024;

    private XenStoreClient(IXenStoreTransport transport, XenStoreClientOptions? options)
    {
        _transport = transport;
        _options = options ?? new XenStoreClientOptions();
        _spinTicks = Environment.ProcessorCount > 1 ? (long)(_options.ReceiveSpin.TotalSeconds * Stopwatch.Frequency) : 0;
        _receiveLoop = StartReceiveLoop(transport, 0);
    }

    /// <summary>Starts a client over a connected transport (the client owns it from now on).</summary>
    public static XenStoreClient Create(IXenStoreTransport transport, XenStoreClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return new XenStoreClient(transport, options);
    }

    /// <summary>
    /// Connects the way libxenstore does: the Unix socket (<see cref="UnixSocketTransport.DefaultPath"/>), else the
    /// xenbus device (<c>/dev/xen/xenbus</c>, <c>/proc/xen/xenbus</c>).
    /// </summary>
    /// <exception cref="XenStoreConnectionException">No daemon could be reached (the message lists what was tried).</exception>
    public static async ValueTask<XenStoreClient> ConnectAsync(XenStoreClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        string socket = UnixSocketTransport.DefaultPath();
        var tried = new List<string>();
        try
        {
            return Create(await UnixSocketTransport.ConnectAsync(socket, cancellationToken).ConfigureAwait(false), options);
        }
        catch (XenStoreConnectionException e)
        {
            tried.Add(e.Message);
        }

        foreach (string device in XenbusDeviceTransport.DefaultPaths)
        {
            if (File.Exists(device))
            {
                try
                {
                    return Create(XenbusDeviceTransport.Open(device), options);
                }
                catch (XenStoreConnectionException e)
                {
                    tried.Add(e.Message);
                }
            }
            else
            {
                tried.Add($"no {device}");
            }
        }

        throw new XenStoreConnectionException("No xenstore daemon reachable: " + string.Join("; ", tried));
    }

    /// <summary>Connects to the xenstored Unix socket at <paramref name="socketPath"/>.</summary>
    /// <exception cref="XenStoreConnectionException">Nothing listens there.</exception>
    public static async ValueTask<XenStoreClient> ConnectAsync(string socketPath, XenStoreClientOptions? options = null, CancellationToken cancellationToken = default) =>
        Create(await UnixSocketTransport.ConnectAsync(socketPath, cancellationToken).ConfigureAwait(false), options);

    /// <inheritdoc/>
    public override uint TransactionId => 0;

    private protected override IRequestSender Connection => this;

    /// <summary>Where the client is connected (for messages).</summary>
    public string Description => _transport.Description;

    /// <summary>Whether the connection has failed for good (requests fail at once).</summary>
    public bool IsFaulted => Volatile.Read(ref _fault) is not null;

    /// <summary>
    /// WATCH: registers a watch on <paramref name="path"/> (absolute, relative, or a special <c>@</c> path) and returns
    /// its event stream. The daemon fires one event at once; afterwards one per change of the path or anything below
    /// it. Dispose the watch to UNWATCH it.
    /// </summary>
    /// <param name="path">The path to watch.</param>
    /// <param name="token">The token (default: a token unique to this watch, so several watches of one path are told apart).</param>
    /// <param name="depth">The WATCHDEPTH depth, where the daemon supports it; null for the whole subtree.</param>
    /// <param name="cancellationToken">Cancels the wait for the reply.</param>
    /// <exception cref="XenStoreErrorException">EEXIST for a duplicate (path, token); EACCES; ENOSPC (watch quota).</exception>
    public async ValueTask<XenStoreWatch> WatchAsync(string path, string? token = null, int? depth = null, CancellationToken cancellationToken = default)
    {
        XsPath.Validate(path, allowSpecial: true);
        token ??= string.Create(CultureInfo.InvariantCulture, $"xsdn-{Environment.ProcessId}-{Interlocked.Increment(ref _watchCounter)}");
        if (token.Length == 0)
        {
            throw new ArgumentException("A watch token may not be empty.", nameof(token));
        }

        var watch = new XenStoreWatch(this, path, token, depth, _options.WatchEventCapacity);
        lock (_gate)
        {
            _watches.Add(watch);
        }

        try
        {
            byte[] reply = await RequestAsync(XsMessageType.Watch, 0, WatchArguments(watch), default, path,
                _ => RequestOkAsync(XsMessageType.Unwatch, 0, [watch.Path, watch.Token], default, watch.Path, CancellationToken.None),
                cancellationToken).ConfigureAwait(false);
            XsPayload.Ok(reply, XsMessageType.Watch);
            return watch;
        }
        catch
        {
            lock (_gate)
            {
                _watches.Remove(watch);
            }

            watch.Complete(null);
            throw;
        }
    }

    /// <summary>TRANSACTION_START: opens a transaction. Commit or abort it; disposing an open one aborts it.</summary>
    /// <exception cref="XenStoreErrorException">ENOSPC (transaction quota); EBUSY.</exception>
    public async ValueTask<XenStoreTransaction> StartTransactionAsync(CancellationToken cancellationToken = default)
    {
        byte[] reply = await RequestAsync(XsMessageType.TransactionStart, 0, [string.Empty], default, null,
            started => RequestOkAsync(XsMessageType.TransactionEnd, XsPayload.TransactionId(started), ["F"], default, null, CancellationToken.None),
            cancellationToken).ConfigureAwait(false);
        return new XenStoreTransaction(this, XsPayload.TransactionId(reply), Volatile.Read(ref _generation));
    }

    /// <summary>
    /// Runs <paramref name="body"/> in a transaction and commits it; when the commit (or any operation) fails with
    /// EAGAIN, runs it again in a new transaction as <paramref name="policy"/> allows (by default, until it commits
    /// or <paramref name="cancellationToken"/> is cancelled). Any other exception aborts the transaction and propagates.
    /// </summary>
    /// <returns>The body's result from the attempt that committed.</returns>
    /// <exception cref="XenStoreErrorException">EAGAIN when the policy gave up; or the body's own errors.</exception>
    public async ValueTask<T> RunTransactionAsync<T>(Func<XenStoreTransaction, CancellationToken, ValueTask<T>> body, TransactionRetryPolicy? policy = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        policy ??= TransactionRetryPolicy.Default;
        for (int attempt = 1; ; attempt++)
        {
            await using XenStoreTransaction tx = await StartTransactionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                T result = await body(tx, cancellationToken).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
            catch (XenStoreErrorException e) when (e.Error == XsError.EAGAIN && policy.NextDelay(attempt) is TimeSpan delay)
            {
                await tx.DisposeAsync().ConfigureAwait(false);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>GET_DOMAIN_PATH: the home of domain <paramref name="domainId"/> (<c>/local/domain/&lt;domid&gt;</c>).</summary>
    public async ValueTask<string> GetDomainPathAsync(uint domainId, CancellationToken cancellationToken = default) =>
        XsPayload.FirstString(await RequestAsync(XsMessageType.GetDomainPath, 0, [Decimal(domainId)], default, null, cancellationToken).ConfigureAwait(false));

    /// <summary>INTRODUCE (dom0 only): tells the daemon to serve domain <paramref name="domainId"/> over the page at <paramref name="gfn"/> with event channel <paramref name="eventChannel"/>.</summary>
    /// <exception cref="XenStoreErrorException">EACCES from a non-privileged connection; EINVAL; EEXIST/EISCONN.</exception>
    public ValueTask IntroduceAsync(uint domainId, ulong gfn, uint eventChannel, CancellationToken cancellationToken = default) =>
        RequestOkAsync(XsMessageType.Introduce, 0, [Decimal(domainId), gfn.ToString(CultureInfo.InvariantCulture), Decimal(eventChannel)], default, null, cancellationToken);

    /// <summary>RELEASE (dom0 only): tells the daemon to stop serving domain <paramref name="domainId"/>; fires @releaseDomain.</summary>
    public ValueTask ReleaseAsync(uint domainId, CancellationToken cancellationToken = default) =>
        RequestOkAsync(XsMessageType.Release, 0, [Decimal(domainId)], default, null, cancellationToken);

    /// <summary>IS_DOMAIN_INTRODUCED: whether the daemon serves domain <paramref name="domainId"/>.</summary>
    public async ValueTask<bool> IsDomainIntroducedAsync(uint domainId, CancellationToken cancellationToken = default) =>
        XsPayload.Boolean(await RequestAsync(XsMessageType.IsDomainIntroduced, 0, [Decimal(domainId)], default, null, cancellationToken).ConfigureAwait(false), XsMessageType.IsDomainIntroduced);

    /// <summary>RESUME (dom0 only): re-arms @releaseDomain for a domain that was shut down and restarted.</summary>
    public ValueTask ResumeAsync(uint domainId, CancellationToken cancellationToken = default) =>
        RequestOkAsync(XsMessageType.Resume, 0, [Decimal(domainId)], default, null, cancellationToken);

    /// <summary>SET_TARGET (dom0 only): domain <paramref name="domainId"/> gets the privileges of its target over it (a device model's domain, say).</summary>
    public ValueTask SetTargetAsync(uint domainId, uint targetDomainId, CancellationToken cancellationToken = default) =>
        RequestOkAsync(XsMessageType.SetTarget, 0, [Decimal(domainId), Decimal(targetDomainId)], default, null, cancellationToken);

    /// <summary>RESET_WATCHES: drops every watch and transaction of this connection at the daemon (and locally ends every watch stream).</summary>
    public async ValueTask ResetWatchesAsync(CancellationToken cancellationToken = default)
    {
        await RequestOkAsync(XsMessageType.ResetWatches, 0, [string.Empty], default, null, cancellationToken).ConfigureAwait(false);
        XenStoreWatch[] watches;
        lock (_gate)
        {
            watches = [.. _watches];
            _watches.Clear();
        }

        foreach (XenStoreWatch w in watches)
        {
            w.Complete(null);
        }
    }

    /// <summary>CONTROL: an implementation-specific command (<c>check</c>, <c>help</c>, <c>quota</c>, <c>log on</c>, ...), returning the reply as the daemon sent it.</summary>
    /// <exception cref="XenStoreErrorException">EINVAL for an unknown command; EACCES for a guest.</exception>
    public ValueTask<byte[]> ControlAsync(string command, IReadOnlyList<string>? arguments = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        string[] args = [command, .. arguments ?? []];
        return RequestAsync(XsMessageType.Control, 0, args, default, command, cancellationToken);
    }

    /// <summary>GET_FEATURE: the feature bits of domain <paramref name="domainId"/>, or of the daemon itself when null (Xen 4.19+ daemons).</summary>
    /// <exception cref="XenStoreErrorException">ENOSYS from older daemons.</exception>
    public async ValueTask<uint> GetFeatureAsync(uint? domainId = null, CancellationToken cancellationToken = default) =>
        ParseDecimal(await RequestAsync(XsMessageType.GetFeature, 0, domainId is uint d ? [Decimal(d)] : [], default, null, cancellationToken).ConfigureAwait(false), XsMessageType.GetFeature);

    /// <summary>SET_FEATURE: sets the feature bits of domain <paramref name="domainId"/> (dom0 only).</summary>
    public ValueTask SetFeatureAsync(uint domainId, uint features, CancellationToken cancellationToken = default) =>
        RequestOkAsync(XsMessageType.SetFeature, 0, [Decimal(domainId), Decimal(features)], default, null, cancellationToken);

    /// <summary>GET_QUOTA: the named quota of domain <paramref name="domainId"/> (or the global default when null); with no name, the daemon's list of quota names.</summary>
    public async ValueTask<string> GetQuotaAsync(uint? domainId, string? quotaName, CancellationToken cancellationToken = default)
    {
        var args = new List<string>(2);
        if (domainId is uint d)
        {
            args.Add(Decimal(d));
        }

        if (quotaName is not null)
        {
            args.Add(quotaName);
        }

        byte[] reply = await RequestAsync(XsMessageType.GetQuota, 0, [.. args], default, null, cancellationToken).ConfigureAwait(false);
        return string.Join(' ', XsPayload.Strings(reply));
    }

    /// <summary>SET_QUOTA: sets the named quota of domain <paramref name="domainId"/> (or the global default when null).</summary>
    public ValueTask SetQuotaAsync(uint? domainId, string quotaName, uint value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(quotaName);
        string[] args = domainId is uint d ? [Decimal(d), quotaName, Decimal(value)] : [quotaName, Decimal(value)];
        return RequestOkAsync(XsMessageType.SetQuota, 0, args, default, null, cancellationToken);
    }

    /// <summary>Closes the connection: waiting requests fail with <see cref="XenStoreConnectionException"/>, watch streams end.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        Fail(new XenStoreConnectionException($"The xenstore client for {Description} was disposed."), endWatches: true);
        await _transport.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _receiveLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _closing.Dispose();
    }

    internal int Generation => Volatile.Read(ref _generation);

    internal async ValueTask UnwatchAsync(XenStoreWatch watch)
    {
        bool registered;
        lock (_gate)
        {
            registered = _watches.Remove(watch);
        }

        watch.Complete(null);
        if (registered && !IsFaulted && !_disposed)
        {
            try
            {
                await RequestOkAsync(XsMessageType.Unwatch, 0, [watch.Path, watch.Token], default, watch.Path, CancellationToken.None).ConfigureAwait(false);
            }
            catch (XenStoreException)
            {
                // The daemon no longer has it (reset, reconnect) or the connection went away: either way it is gone.
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask RequestOkAsync(XsMessageType type, uint transactionId, string[] arguments, ReadOnlyMemory<byte> tail, string? subject, CancellationToken cancellationToken)
    {
        byte[] reply = await RequestAsync(type, transactionId, arguments, tail.Span, subject, null, cancellationToken).ConfigureAwait(false);
        XsPayload.Ok(reply, type);
    }

    /// <summary>A request with one argument whose reply must be <c>OK</c> (WRITE, MKDIR, RM, ...).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask RequestOkAsync(XsMessageType type, uint transactionId, string argument, ReadOnlyMemory<byte> tail, string? subject, CancellationToken cancellationToken)
    {
        byte[] reply = await RequestAsync(type, transactionId, [argument], tail.Span, subject, null, cancellationToken).ConfigureAwait(false);
        XsPayload.Ok(reply, type);
    }

    internal ValueTask<byte[]> RequestAsync(XsMessageType type, uint transactionId, ReadOnlySpan<string> arguments, ReadOnlySpan<byte> tail, string? subject, CancellationToken cancellationToken) =>
        RequestAsync(type, transactionId, arguments, tail, subject, null, cancellationToken);

    ValueTask<byte[]> IRequestSender.RequestAsync(XsMessageType type, uint transactionId, ReadOnlySpan<string> arguments, ReadOnlySpan<byte> tail, string? subject, CancellationToken cancellationToken) =>
        RequestAsync(type, transactionId, arguments, tail, subject, null, cancellationToken);

    ValueTask IRequestSender.RequestOkAsync(XsMessageType type, uint transactionId, string[] arguments, ReadOnlyMemory<byte> tail, string? subject, CancellationToken cancellationToken) =>
        RequestOkAsync(type, transactionId, arguments, tail, subject, cancellationToken);

    ValueTask IRequestSender.RequestOkAsync(XsMessageType type, uint transactionId, string argument, ReadOnlyMemory<byte> tail, string? subject, CancellationToken cancellationToken) =>
        RequestOkAsync(type, transactionId, argument, tail, subject, cancellationToken);

    /// <summary>
    /// Queues one request and returns its reply. <paramref name="undoIfAbandoned"/>, when given, runs with the reply if
    /// the caller's wait was cancelled after the request went out and the daemon then carried it out.
    /// </summary>
    /// <remarks>
    /// The message is written straight into the connection's outgoing buffer. The caller that finds no send under
    /// way becomes the sender and sends everything queued, including what other callers add meanwhile, so requests
    /// from many threads leave in few system calls. The reply arrives through a pooled
    /// <see cref="IValueTaskSource{TResult}"/>: a request that is not cancellable allocates nothing but its reply.
    /// </remarks>
    private ValueTask<byte[]> RequestAsync(XsMessageType type, uint transactionId, ReadOnlySpan<string> arguments, ReadOnlySpan<byte> tail, string? subject, Func<byte[], ValueTask>? undoIfAbandoned, CancellationToken cancellationToken)
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
            pending = _freeRequests.Count > 0 ? _freeRequests.Pop() : new PendingRequest(this);
            pending.Start(type, subject);
            _pending.Add(requestId, pending);
            send = !_sending;
            _sending = true;
        }

        if (send)
        {
            _ = SendQueuedAsync(); // usually done at once; else it carries on, and reports failures through Fail
        }

        var reply = new ValueTask<byte[]>(pending, pending.Version);
        return cancellationToken.CanBeCanceled || undoIfAbandoned is not null
            ? WaitCancellableAsync(reply, undoIfAbandoned, cancellationToken)
            : reply;
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
                Fail(new XenStoreConnectionException($"Sending to {Description} failed: {e.Message}", e), endWatches: false);
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

    /// <summary>
    /// Starts the receive loop. Over a transport that can block (<see cref="IBlockingReceiveTransport"/>: the Unix socket) it gets a thread of its own that waits in the kernel for the
    /// daemon's bytes (so a reply wakes that thread directly, as libxenstore's blocking <c>read</c> does, instead of
    /// the socket engine's thread and then a thread-pool thread); over other transports it runs on the thread pool.
    /// </summary>
    private Task StartReceiveLoop(IXenStoreTransport transport, int generation)
    {
        if (transport is not IBlockingReceiveTransport)
        {
            return Task.Run(() => ReceiveLoopAsync(transport, generation));
        }

        // A dedicated thread: every receive completes synchronously on it, so the loop leaves it only at its end.
        return Task.Factory.StartNew(() => ReceiveLoopAsync(transport, generation), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    private ValueTask<int> ReceiveAsync(IXenStoreTransport transport, Memory<byte> buffer) =>
        transport is IBlockingReceiveTransport blocking && Thread.CurrentThread.IsThreadPoolThread is false
            ? new ValueTask<int>(blocking.ReceiveBlocking(buffer.Span, SpinDeadline()))
            : transport.ReceiveAsync(buffer, _closing.Token);

    /// <summary>Until when the receive thread may wait without sleeping (<see cref="XenStoreClientOptions.ReceiveSpin"/>); 0 for not at all.</summary>
    private long SpinDeadline()
    {
        if (_spinTicks == 0)
        {
            return 0;
        }

        lock (_gate)
        {
            return _pending.Count == 1 ? Stopwatch.GetTimestamp() + _spinTicks : 0;
        }
    }

    private async Task ReceiveLoopAsync(IXenStoreTransport transport, int generation)
    {
        byte[] buffer = new byte[XsHeader.MessageMax * 2];
        int filled = 0;
        long skip = 0;
        Exception failure;
        try
        {
            while (true)
            {
                int n = await ReceiveAsync(transport, buffer.AsMemory(filled)).ConfigureAwait(false);
                if (n == 0)
                {
                    failure = new XenStoreConnectionException($"{transport.Description}: the daemon closed the connection.");
                    break;
                }

                filled += n;
                int consumed = 0;
                while (true)
                {
                    if (skip > 0)
                    {
                        int dropped = (int)Math.Min(skip, filled - consumed);
                        consumed += dropped;
                        skip -= dropped;
                        if (skip > 0)
                        {
                            break;
                        }
                    }

                    XsFrameStatus status = XsFrameReader.Read(buffer.AsSpan(consumed, filled - consumed), out XsHeader header);
                    if (status == XsFrameStatus.Oversized)
                    {
                        skip = RejectOversizedReply(header);
                        continue;
                    }

                    if (status == XsFrameStatus.NeedMore)
                    {
                        break;
                    }

                    DispatchOnReceiveThread(header, buffer.AsSpan(consumed + XsHeader.HeaderLength, (int)header.Length));
                    consumed += header.FrameLength;
                }

                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (XenStoreProtocolException e)
        {
            failure = e;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            failure = new XenStoreConnectionException($"{transport.Description}: {e.Message}", e);
        }

        if (_closing.IsCancellationRequested)
        {
            return;
        }

        if (_options.Reconnect is null || failure is XenStoreProtocolException)
        {
            Fail(failure, endWatches: true);
            await transport.DisposeAsync().ConfigureAwait(false);
            return;
        }

        await ReconnectAsync(transport, generation, failure).ConfigureAwait(false);
    }

    /// <summary>
    /// A reply longer than XENSTORE_PAYLOAD_MAX (oxenstored sends them on its socket for large directories) fails
    /// its request with E2BIG, as libxenstore does, and its bytes are skipped without being buffered; the
    /// connection stays usable. Anything else that large, or past <see cref="OversizedReplyLimit"/>, is a protocol
    /// error.
    /// </summary>
    /// <returns>The bytes to skip (header and payload).</returns>
    private long RejectOversizedReply(XsHeader header)
    {
        PendingRequest? pending = null;
        if (header.Type != XsMessageType.WatchEvent && header.Length <= OversizedReplyLimit)
        {
            lock (_gate)
            {
                _pending.Remove(header.RequestId, out pending);
            }
        }

        if (pending is null)
        {
            throw new XenStoreProtocolException(XsFrameReader.DescribeOversized(header));
        }

        pending.Fail(new XenStoreErrorException("E2BIG",
            $"{pending.Describe()} (the daemon sent a {header.Length}-byte reply, over XENSTORE_PAYLOAD_MAX {XsHeader.PayloadMax}; it was discarded)"));
        return XsHeader.HeaderLength + (long)header.Length;
    }

    /// <summary>The reply of a request that only succeeds (never handed to a caller, so one instance serves all).</summary>
    private static readonly byte[] OkReply = "OK\0"u8.ToArray();

    /// <summary>The largest over-long reply that is skipped instead of ending the connection (16 MiB).</summary>
    private const long OversizedReplyLimit = 16 << 20;

    /// <summary>The client whose reply is being dispatched on this thread with <see cref="XenStoreClientOptions.InlineCompletions"/>.</summary>
    [ThreadStatic]
    private static XenStoreClient? t_dispatching;

    /// <summary>
    /// Throws when the caller is about to block on this thread while it dispatches an inline completion: the reply it
    /// would wait for can only be read by this thread.
    /// </summary>
    internal static void ThrowIfBlockingWouldDeadlock()
    {
        if (t_dispatching is XenStoreClient client)
        {
            throw new InvalidOperationException(
                $"A synchronous xenstore call was made on the receive thread of the client of {client.Description} (XenStoreClientOptions.InlineCompletions): " +
                "it would wait for a reply that only this thread can read. Await the asynchronous method instead.");
        }
    }

    private void DispatchOnReceiveThread(XsHeader header, ReadOnlySpan<byte> payload)
    {
        if (!_options.InlineCompletions)
        {
            Dispatch(header, payload);
            return;
        }

        XenStoreClient? outer = t_dispatching;
        t_dispatching = this;
        try
        {
            Dispatch(header, payload);
        }
        finally
        {
            t_dispatching = outer;
        }
    }

    private void Dispatch(XsHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.Type == XsMessageType.WatchEvent)
        {
            var (path, token) = XsPayload.WatchEvent(payload);
            lock (_gate)
            {
                long sequence = ++_eventSequence;
                foreach (XenStoreWatch w in _watches)
                {
                    if (w.Token == token && w.Covers(path))
                    {
                        w.Post(new XenStoreWatchEvent(path, token) { Sequence = sequence });
                    }
                }
            }

            return;
        }

        PendingRequest? pending;
        lock (_gate)
        {
            _pending.Remove(header.RequestId, out pending);
        }

        if (pending is null)
        {
            throw new XenStoreProtocolException($"The daemon sent a {header.Type} reply with req_id {header.RequestId}, which no request is waiting for.");
        }

        if (header.Type == XsMessageType.Error)
        {
            pending.Fail(new XenStoreErrorException(XsPayload.FirstString(payload), pending.Describe()));
        }
        else if (header.Type != pending.Type)
        {
            var error = new XenStoreProtocolException($"The daemon answered a {pending.Type} request (req_id {header.RequestId}) with a {header.Type} reply.");
            pending.Fail(error);
            throw error;
        }
        else
        {
            // An "OK" that no caller sees (WRITE, MKDIR, RM, TRANSACTION_END, ...) costs no allocation.
            bool sharedOk = pending.Type is not (XsMessageType.Read or XsMessageType.Control) && payload.SequenceEqual(OkReply);
            pending.Complete(sharedOk ? OkReply : payload.ToArray());
        }
    }

    private async Task ReconnectAsync(IXenStoreTransport broken, int generation, Exception failure)
    {
        Fail(new XenStoreConnectionException($"Connection to {broken.Description} lost; reconnecting: {failure.Message}", failure), endWatches: false, permanent: false);
        await broken.DisposeAsync().ConfigureAwait(false);
        TimeSpan delay = _options.ReconnectDelay;
        for (int attempt = 1; attempt <= _options.ReconnectAttempts && !_closing.IsCancellationRequested; attempt++)
        {
            try
            {
                await Task.Delay(delay, _closing.Token).ConfigureAwait(false);
                IXenStoreTransport transport = await _options.Reconnect!(_closing.Token).ConfigureAwait(false);
                lock (_gate)
                {
                    _transport = transport;
                    _generation = generation + 1;
                }

                _receiveLoop = StartReceiveLoop(transport, generation + 1);
                XenStoreWatch[] watches;
                lock (_gate)
                {
                    watches = [.. _watches];
                }

                foreach (XenStoreWatch w in watches)
                {
                    // The gap first, so a consumer sees it before anything the new registration delivers (its initial event).
                    long sequence;
                    lock (_gate)
                    {
                        sequence = ++_eventSequence;
                    }

                    w.Post(new XenStoreWatchEvent(w.Path, w.Token, EventsWereDropped: true) { Sequence = sequence });
                    await RequestOkAsync(XsMessageType.Watch, 0, WatchArguments(w), default, w.Path, _closing.Token).ConfigureAwait(false);
                }

                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (XenStoreException)
            {
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }

        Fail(new XenStoreConnectionException($"Connection to {broken.Description} lost and not re-established after {_options.ReconnectAttempts} attempts: {failure.Message}", failure), endWatches: true);
    }

    private void Fail(Exception error, bool endWatches, bool permanent = true)
    {
        PendingRequest[] pending;
        XenStoreWatch[] watches = [];
        lock (_gate)
        {
            if (permanent)
            {
                _fault ??= error;
            }

            pending = [.. _pending.Values];
            _pending.Clear();
            _outgoing.ResetWrittenCount(); // their requests are failed below; never send them later

            if (endWatches)
            {
                watches = [.. _watches];
                _watches.Clear();
            }
        }

        foreach (PendingRequest p in pending)
        {
            p.Fail(error);
        }

        foreach (XenStoreWatch w in watches)
        {
            w.Complete(error is XenStoreConnectionException && _disposed ? null : error);
        }
    }

    private static string[] WatchArguments(XenStoreWatch w) =>
        w.Depth is int depth ? [w.Path, w.Token, depth.ToString(CultureInfo.InvariantCulture)] : [w.Path, w.Token];

    private static XenStoreConnectionException Rethrowable(Exception fault) => fault switch
    {
        XenStoreProtocolException p => new XenStoreConnectionException($"The connection failed earlier: {p.Message}", p),
        XenStoreConnectionException c => new XenStoreConnectionException(c.Message, c),
        _ => new XenStoreConnectionException(fault.Message, fault),
    };

    private static string Decimal(uint value) => value.ToString(CultureInfo.InvariantCulture);

    private static uint ParseDecimal(byte[] reply, XsMessageType type) =>
        uint.TryParse(XsPayload.FirstString(reply), NumberStyles.None, CultureInfo.InvariantCulture, out uint value)
            ? value
            : throw new XenStoreProtocolException($"A {type} reply should be a decimal number, not {XsPayload.Describe(reply)}.");

    private void Recycle(PendingRequest request)
    {
        lock (_gate)
        {
            if (_freeRequests.Count < MaxFreeRequests)
            {
                _freeRequests.Push(request);
            }
        }
    }

    /// <summary>
    /// One request waiting for its reply: a reusable <see cref="IValueTaskSource{TResult}"/> that goes back to its
    /// client's free list once the caller has taken the result. Continuations run on the thread pool, or on the receive
    /// loop with <see cref="XenStoreClientOptions.InlineCompletions"/>.
    /// </summary>
    private sealed class PendingRequest : IValueTaskSource<byte[]>
    {
        private readonly XenStoreClient _owner;
        private ManualResetValueTaskSourceCore<byte[]> _core;
        private string? _subject;

        public PendingRequest(XenStoreClient owner)
        {
            _owner = owner;
            _core.RunContinuationsAsynchronously = !owner._options.InlineCompletions;
        }

        public XsMessageType Type { get; private set; }

        public short Version => _core.Version;

        public void Start(XsMessageType type, string? subject)
        {
            Type = type;
            _subject = subject;
        }

        public void Complete(byte[] payload) => _core.SetResult(payload);

        public void Fail(Exception error) => _core.SetException(error);

        public string Describe() => _subject is null ? Type.ToString().ToUpperInvariant() : $"{Type.ToString().ToUpperInvariant()} {_subject}";

        public byte[] GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                _core.Reset();
                _subject = null;
                _owner.Recycle(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
