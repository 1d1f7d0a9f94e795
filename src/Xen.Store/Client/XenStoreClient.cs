using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xen.Store.Client.Internal;
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
/// Design. This class is the public face; each job behind it has one place. <see cref="RequestPipeline"/> gives
/// requests their ids, writes each whole into one outgoing buffer and lets the first caller that finds no send under
/// way send everything queued (so a message never goes out in pieces, and many requests leave in one system call);
/// it keeps the table of requests waiting for replies and their pool. The receive loop
/// (<c>XenStoreClient.Receive.cs</c>) owns the transport's read side: it cuts frames with <see cref="XsFrameReader"/>,
/// completes the request whose <c>req_id</c> a reply carries, and hands watch events to <see cref="WatchRouter"/>,
/// which posts them to each watch's bounded queue (never blocking on a slow consumer). Reconnection is in
/// <c>XenStoreClient.Reconnect.cs</c>, the dom0 operations in <c>XenStoreClient.Domains.cs</c>, the node operations
/// (shared with transactions) in <see cref="XenStoreOperations"/>. A frame the daemon should never send (over 4096
/// bytes, a reply to no request) is a protocol error: the connection is closed and every waiting request fails with it.
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
    private readonly Func<CancellationToken, ValueTask<IXenStoreTransport>>? _reconnect; // the options' Reconnect, or AutoReconnect's way back
    private readonly ILogger _logger;
    private readonly ClientMetrics _metrics;
    private readonly RequestPipeline _requests;
    private readonly WatchRouter _watches = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly long _spinTicks;
    private Task _receiveLoop;
    private long _watchCounter;
    private FeatureAnswer? _features;
    private int _generation;
    private int _disposed;

    private XenStoreClient(IXenStoreTransport transport, XenStoreClientOptions? options, Func<CancellationToken, ValueTask<IXenStoreTransport>>? reconnectTo = null)
    {
        _options = options ?? new XenStoreClientOptions();
        _reconnect = _options.Reconnect ?? (_options.AutoReconnect ? reconnectTo : null);
        _logger = _options.Logger ?? NullLogger.Instance;
        _metrics = ClientMetrics.For(_options.MeterFactory);
        _requests = new RequestPipeline(transport, _options.InlineCompletions, _metrics);
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
            return new XenStoreClient(await UnixSocketTransport.ConnectAsync(socket, cancellationToken).ConfigureAwait(false), options, SocketAgain(socket));
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
                    return new XenStoreClient(XenbusDeviceTransport.Open(device), options, _ => ValueTask.FromResult<IXenStoreTransport>(XenbusDeviceTransport.Open(device)));
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
        new(await UnixSocketTransport.ConnectAsync(socketPath, cancellationToken).ConfigureAwait(false), options, SocketAgain(socketPath));

    /// <summary>
    /// Checks that the daemon has WATCHDEPTH before a depth is sent: a daemon without it may ignore the argument (C
    /// xenstored 4.17 does) and watch the whole subtree, which the caller would not notice. GET_FEATURE's answer (no
    /// domid: this connection's own features) is kept for the connection; a daemon without GET_FEATURE has no features.
    /// </summary>
    private async ValueTask RequireWatchDepthAsync(CancellationToken cancellationToken)
    {
        int generation = Volatile.Read(ref _generation);
        if (Volatile.Read(ref _features) is not { } known || known.Generation != generation)
        {
            uint features;
            try
            {
                features = await GetFeatureAsync(null, cancellationToken).ConfigureAwait(false);
            }
            catch (XenStoreErrorException)
            {
                features = 0; // ENOSYS (4.17), EINVAL, EACCES: none negotiated
            }

            known = new FeatureAnswer(generation, features);
            Volatile.Write(ref _features, known);
        }

        if ((known.Features & (uint)Xen.Rings.XenStore.XenStoreServerFeatures.WatchDepth) == 0)
        {
            throw new NotSupportedException(
                $"The xenstore daemon at {Description} does not offer WATCHDEPTH (GET_FEATURE: {known.Features}); it would watch the whole subtree. Watch without a depth and filter the events by path.");
        }
    }

    /// <summary>What GET_FEATURE answered on the connection of <see cref="Generation"/>.</summary>
    private sealed record FeatureAnswer(int Generation, uint Features);

    /// <summary>A watch's queue was full and dropped its oldest event; <paramref name="report"/>: say so in the log.</summary>
    internal void WatchEventDropped(XenStoreWatch watch, bool report)
    {
        _metrics.WatchEventDropped();
        if (report)
        {
            ClientLog.WatchFellBehind(_logger, watch.Path, watch.Token, watch.Capacity);
        }
    }

    /// <summary><see cref="XenStoreClientOptions.AutoReconnect"/>'s way back to a socket.</summary>
    private static Func<CancellationToken, ValueTask<IXenStoreTransport>> SocketAgain(string socketPath) =>
        async ct => await UnixSocketTransport.ConnectAsync(socketPath, ct).ConfigureAwait(false);

    /// <inheritdoc/>
    public override uint TransactionId => 0;

    private protected override IRequestSender Connection => this;

    /// <summary>Where the client is connected (for messages).</summary>
    public string Description => _requests.Transport.Description;

    /// <summary>Whether the connection has failed for good (requests fail at once).</summary>
    public bool IsFaulted => _requests.Fault is not null;

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
    /// <exception cref="NotSupportedException">A <paramref name="depth"/> was asked of a daemon without WATCHDEPTH (Xen 4.17's
    /// daemons, which would take the depth argument and watch the whole subtree anyway).</exception>
    public async ValueTask<XenStoreWatch> WatchAsync(string path, string? token = null, int? depth = null, CancellationToken cancellationToken = default)
    {
        XsPath.Validate(path, allowSpecial: true);
        token ??= string.Create(CultureInfo.InvariantCulture, $"xsdn-{Environment.ProcessId}-{Interlocked.Increment(ref _watchCounter)}");
        if (token.Length == 0)
        {
            throw new ArgumentException("A watch token may not be empty.", nameof(token));
        }

        if (depth is not null)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(depth.Value, nameof(depth));
            await RequireWatchDepthAsync(cancellationToken).ConfigureAwait(false);
        }

        var watch = new XenStoreWatch(this, path, token, depth, _options.WatchEventCapacity);
        _watches.Add(watch);
        try
        {
            byte[] reply = await _requests.RequestAsync(XsMessageType.Watch, 0, WatchArguments(watch), default, path,
                _ => RequestOkAsync(XsMessageType.Unwatch, 0, [watch.Path, watch.Token], default, watch.Path, CancellationToken.None),
                cancellationToken).ConfigureAwait(false);
            XsPayload.Ok(reply, XsMessageType.Watch);
            return watch;
        }
        catch
        {
            _watches.Remove(watch);
            watch.Complete(null);
            throw;
        }
    }

    /// <summary>TRANSACTION_START: opens a transaction. Commit or abort it; disposing an open one aborts it.</summary>
    /// <exception cref="XenStoreErrorException">ENOSPC (transaction quota); EBUSY.</exception>
    public async ValueTask<XenStoreTransaction> StartTransactionAsync(CancellationToken cancellationToken = default)
    {
        byte[] reply = await _requests.RequestAsync(XsMessageType.TransactionStart, 0, [string.Empty], default, null,
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

    /// <summary>RESET_WATCHES: drops every watch and transaction of this connection at the daemon (and locally ends every watch stream).</summary>
    public async ValueTask ResetWatchesAsync(CancellationToken cancellationToken = default)
    {
        await RequestOkAsync(XsMessageType.ResetWatches, 0, [string.Empty], default, null, cancellationToken).ConfigureAwait(false);
        _watches.EndAll(null);
    }

    /// <summary>Closes the connection: waiting requests fail with <see cref="XenStoreConnectionException"/>, watch streams end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        Fail(new XenStoreConnectionException($"The xenstore client for {Description} was disposed."), endWatches: true);
        await _requests.Transport.DisposeAsync().ConfigureAwait(false);
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
        bool registered = _watches.Remove(watch);
        watch.Complete(null);
        if (registered && !IsFaulted && Volatile.Read(ref _disposed) == 0)
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

    /// <summary>A request whose reply must be <c>OK</c>.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask RequestOkAsync(XsMessageType type, uint transactionId, string[] arguments, ReadOnlyMemory<byte> tail, string? subject, CancellationToken cancellationToken)
    {
        byte[] reply = await _requests.RequestAsync(type, transactionId, arguments, tail.Span, subject, null, cancellationToken).ConfigureAwait(false);
        XsPayload.Ok(reply, type);
    }

    /// <summary>A request with one argument whose reply must be <c>OK</c> (WRITE, MKDIR, RM, ...).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask RequestOkAsync(XsMessageType type, uint transactionId, string argument, ReadOnlyMemory<byte> tail, string? subject, CancellationToken cancellationToken)
    {
        byte[] reply = await _requests.RequestAsync(type, transactionId, [argument], tail.Span, subject, null, cancellationToken).ConfigureAwait(false);
        XsPayload.Ok(reply, type);
    }

    internal ValueTask<byte[]> RequestAsync(XsMessageType type, uint transactionId, ReadOnlySpan<string> arguments, ReadOnlySpan<byte> tail, string? subject, CancellationToken cancellationToken) =>
        _requests.RequestAsync(type, transactionId, arguments, tail, subject, null, cancellationToken);

    ValueTask<byte[]> IRequestSender.RequestAsync(XsMessageType type, uint transactionId, ReadOnlySpan<string> arguments, ReadOnlySpan<byte> tail, string? subject, CancellationToken cancellationToken) =>
        RequestAsync(type, transactionId, arguments, tail, subject, cancellationToken);

    ValueTask IRequestSender.RequestOkAsync(XsMessageType type, uint transactionId, string[] arguments, ReadOnlyMemory<byte> tail, string? subject, CancellationToken cancellationToken) =>
        RequestOkAsync(type, transactionId, arguments, tail, subject, cancellationToken);

    ValueTask IRequestSender.RequestOkAsync(XsMessageType type, uint transactionId, string argument, ReadOnlyMemory<byte> tail, string? subject, CancellationToken cancellationToken) =>
        RequestOkAsync(type, transactionId, argument, tail, subject, cancellationToken);

    /// <summary>Fails every waiting request (and, with <paramref name="endWatches"/>, ends every watch stream) with <paramref name="error"/>.</summary>
    private void Fail(Exception error, bool endWatches, bool permanent = true)
    {
        _requests.FailAll(error, permanent);
        if (endWatches)
        {
            _watches.EndAll(error is XenStoreConnectionException && Volatile.Read(ref _disposed) != 0 ? null : error);
        }
    }

    private static string[] WatchArguments(XenStoreWatch w) =>
        w.Depth is int depth ? [w.Path, w.Token, depth.ToString(CultureInfo.InvariantCulture)] : [w.Path, w.Token];
}
