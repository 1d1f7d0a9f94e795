using System.Buffers;
using Xen.Store.Transports;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// A connection over a byte stream: an accepted Unix socket (dom0) or an in-process pipe (any domain, for tests and
/// hosts).
/// </summary>
/// <remarks>
/// <para>
/// Design. One loop reads: it cuts whole messages out of the stream and hands each to the engine, which queues the
/// replies (and any watch events) on the connections concerned. After each read the loop itself sends what is queued
/// for its own connection, so a request's reply goes out on the thread that read it, and a client that stops reading
/// stops the loop reading its requests (back-pressure, as over a socket). Watch events queued by other connections
/// while this loop is busy elsewhere are sent by a drain started on the thread pool.
/// </para>
/// <para>
/// Exactly one drain runs at a time (<c>_draining</c>, guarded by <c>_drainGate</c>); while the reader is handing a
/// batch to the engine (<c>_readerActive</c>) no background drain is started, because the reader drains right after.
/// Lock order: <c>_drainGate</c> before the output queue's lock; the engine lock is never taken under either.
/// A frame announcing more than 4096 payload bytes closes the connection: nothing after it can be trusted.
/// </para>
/// </remarks>
#pragma warning disable CA1001 // the token source is cancelled on close and needs no disposal (it has no timer)
internal sealed class StreamConnection : ServerConnection
#pragma warning restore CA1001
{
    private readonly StoreEngine _engine;
    private readonly IXenStoreTransport _io;
    private readonly SocketSpin? _spin;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _drainGate = new();
    private readonly ArrayBufferWriter<byte> _batch = new(XsHeader.MessageMax); // used by the one drain that runs
    private bool _draining;
    private bool _readerActive;
    private Task _loop = Task.CompletedTask;

    public StreamConnection(StoreEngine engine, IXenStoreTransport io, uint domainId, int maxQueued, SocketSpin? spin = null)
        : base(domainId, isPrivileged: domainId == 0, io.Description, maxQueued)
    {
        _engine = engine;
        _io = io;
        _spin = spin;
    }

    public Task Completion => _loop;

    /// <summary>
    /// Starts serving. A Unix socket gets a thread of its own that blocks in <c>recv</c> and answers on the same
    /// thread, as a C daemon's loop does: a request then costs one wake-up, where the asynchronous path costs the
    /// socket engine's wake-up and a thread-pool hop (measured: about half the round-trip time of a sequential
    /// client). Other transports run on the thread pool.
    /// </summary>
    public void Start()
    {
        if (_io is AcceptedSocket socket)
        {
            _loop = Task.Factory.StartNew(() => RunBlocking(socket), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        else
        {
            _loop = Task.Run(RunAsync);
        }
    }

    protected override void OnOutputQueued()
    {
        lock (_drainGate)
        {
            if (_readerActive || _draining)
            {
                return;
            }

            _draining = true;
        }

        if (_io is AcceptedSocket socket)
        {
            _ = Task.Run(() => DrainBlocking(socket)); // no asynchronous operation ever touches the socket
        }
        else
        {
            _ = Task.Run(DrainAsync);
        }
    }

    protected override void OnClosed()
    {
        ThreadPool.UnsafeQueueUserWorkItem(static s => ((CancellationTokenSource)s!).Cancel(), _stop);
        if (_io is AcceptedSocket socket)
        {
            socket.Shutdown(); // wakes a reader blocked in recv
        }
    }

    private async Task RunAsync()
    {
        byte[] buffer = new byte[XsHeader.MessageMax * 4];
        int filled = 0;
        try
        {
            while (!IsClosed)
            {
                int n = await _io.ReceiveAsync(buffer.AsMemory(filled), _stop.Token).ConfigureAwait(false);
                if (!Received(buffer, ref filled, n))
                {
                    break;
                }

                if (ClaimDrain())
                {
                    await DrainAsync().ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            Close(e.Message);
        }
        finally
        {
            _engine.Detach(this);
            await _io.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void RunBlocking(AcceptedSocket socket)
    {
        byte[] buffer = new byte[XsHeader.MessageMax * 4];
        int filled = 0;
        Func<bool> readable = socket.Readable;
        _spin?.Started();
        bool awake = true;
        try
        {
            while (!IsClosed)
            {
                if (_spin is not null)
                {
                    _spin.Sleeping(this, readable); // the client's next request often comes sooner than a wake-up would
                    awake = false;
                }

                int n = socket.Receive(buffer.AsSpan(filled));
                if (!awake)
                {
                    _spin!.Woke(this);
                    awake = true;
                }

                if (!Received(buffer, ref filled, n))
                {
                    break;
                }

                if (ClaimDrain())
                {
                    DrainBlocking(socket);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Close(e.Message);
        }
        finally
        {
            if (awake)
            {
                _spin?.Ended();
            }

            _engine.Detach(this);
            socket.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Takes <paramref name="n"/> newly received bytes: hands every whole message to the engine and keeps the rest
    /// at the front of <paramref name="buffer"/>.
    /// </summary>
    /// <returns><see langword="false"/> when the connection is over (the client closed it, or sent an oversized frame).</returns>
    private bool Received(byte[] buffer, ref int filled, int n)
    {
        if (n == 0)
        {
            Close("the client closed the connection");
            return false;
        }

        filled += n;
        lock (_drainGate)
        {
            _readerActive = true;
        }

        int consumed = 0;
        try
        {
            consumed = ProcessFrames(buffer.AsSpan(0, filled));
        }
        finally
        {
            lock (_drainGate)
            {
                _readerActive = false;
            }
        }

        if (consumed < 0)
        {
            Close("a message announced more than 4096 payload bytes");
            return false;
        }

        buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
        filled -= consumed;
        return true;
    }

    /// <summary>Whether the reader should send what is queued now (no other drain runs, and something is queued).</summary>
    private bool ClaimDrain()
    {
        lock (_drainGate)
        {
            bool drain = !_draining && QueuedCount > 0;
            _draining |= drain;
            return drain;
        }
    }

    /// <summary>Hands every whole message in <paramref name="data"/> to the engine.</summary>
    /// <returns>Bytes consumed, or -1 when a header announces an oversized payload.</returns>
    private int ProcessFrames(ReadOnlySpan<byte> data)
    {
        int consumed = 0;
        while (XsHeader.TryRead(data[consumed..], out XsHeader header))
        {
            if (header.Length > XsHeader.PayloadMax)
            {
                return -1;
            }

            int total = XsHeader.HeaderLength + (int)header.Length;
            if (data.Length - consumed < total)
            {
                break;
            }

            _engine.Process(this, header, data.Slice(consumed + XsHeader.HeaderLength, (int)header.Length));
            consumed += total;
            if (IsClosed)
            {
                break;
            }
        }

        return consumed;
    }

    private async Task DrainAsync()
    {
        try
        {
            while (TakeBatch())
            {
                await _io.SendAsync(_batch.WrittenMemory, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            DrainFailed(e);
        }
    }

    private void DrainBlocking(AcceptedSocket socket)
    {
        try
        {
            while (TakeBatch())
            {
                socket.Send(_batch.WrittenSpan);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            DrainFailed(e);
        }
    }

    /// <summary>Moves everything queued into the send batch; when nothing is queued, ends this drain.</summary>
    private bool TakeBatch()
    {
        _batch.ResetWrittenCount();
        lock (_drainGate)
        {
            if (TakeAllOutput(_batch))
            {
                return true;
            }

            _draining = false;
            return false;
        }
    }

    private void DrainFailed(Exception e)
    {
        Close("sending failed: " + e.Message);
        lock (_drainGate)
        {
            _draining = false;
        }
    }
}
