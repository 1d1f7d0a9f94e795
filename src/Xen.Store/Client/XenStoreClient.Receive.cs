using System.Diagnostics;
using Xen.Store.Client.Internal;
using Xen.Store.Transports;
using Xen.Store.Wire;

namespace Xen.Store.Client;

// The receive loop: it owns the transport's read side, cuts frames out of the byte stream with XsFrameReader, hands
// each reply to the request its req_id names and each WATCH_EVENT to the watch router, and on a broken connection
// either fails everything or reconnects (XenStoreClient.Reconnect.cs).
public sealed partial class XenStoreClient
{
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

    /// <summary>
    /// Starts the receive loop. Over a transport that can block (<see cref="IBlockingReceiveTransport"/>: the Unix
    /// socket) it gets a thread of its own that waits in the kernel for the daemon's bytes (so a reply wakes that
    /// thread directly, as libxenstore's blocking <c>read</c> does, instead of the socket engine's thread and then a
    /// thread-pool thread); over other transports it runs on the thread pool.
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
    private long SpinDeadline() =>
        _spinTicks != 0 && _requests.WaitingCount == 1 ? Stopwatch.GetTimestamp() + _spinTicks : 0;

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

        if (_reconnect is null || failure is XenStoreProtocolException)
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
        PendingRequest? pending = header.Type != XsMessageType.WatchEvent && header.Length <= OversizedReplyLimit
            ? _requests.Take(header.RequestId)
            : null;
        if (pending is null)
        {
            throw new XenStoreProtocolException(XsFrameReader.DescribeOversized(header));
        }

        pending.Fail(new XenStoreErrorException("E2BIG",
            $"{pending.Describe()} (the daemon sent a {header.Length}-byte reply, over XENSTORE_PAYLOAD_MAX {XsHeader.PayloadMax}; it was discarded)"));
        return XsHeader.HeaderLength + (long)header.Length;
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
            _watches.Route(path, token);
            return;
        }

        PendingRequest pending = _requests.Take(header.RequestId)
            ?? throw new XenStoreProtocolException($"The daemon sent a {header.Type} reply with req_id {header.RequestId}, which no request is waiting for.");
        _metrics.RequestAnswered(pending.Type, pending.Started);
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
}
