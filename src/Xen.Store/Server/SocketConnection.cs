using System.Buffers;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// An accepted Unix-socket connection (dom0), served by <see cref="SocketWorkers"/>: while its client is busy, by one
/// worker that waits on this socket alone (a request then costs one wake-up, as in a C daemon's loop); while it is quiet,
/// by nobody (parked, <see cref="AcceptedSocket.Park"/>: on Linux a one-shot registration in the server's epoll set; no
/// thread, no receive buffer).
/// </summary>
/// <remarks>
/// <para>
/// Where the connection is, at any moment: on a worker (<see cref="Serve"/>), in the workers' queue, parked, or waiting
/// for a send the client is slow to take (output-blocked). Each of these ends on a worker: readiness or
/// <see cref="ServerConnection.Close"/> (which shuts the socket down) completes the parked receive and fails the slow
/// send, and both put the connection back in the queue. Only a worker ends the connection (<see cref="End"/>), so it
/// ends once.
/// </para>
/// <para>
/// Sending never holds a worker: the worker sends what the socket takes at once; the rest is sent asynchronously, and
/// until it has gone the connection's requests are not read (a client that does not read its replies stops being
/// served, as over a blocking socket, but costs no thread). Watch events queued while no worker serves the connection
/// are sent the same asynchronous way.
/// </para>
/// </remarks>
internal sealed class SocketConnection : ByteStreamConnection
{
    private const int BufferSize = XsHeader.MessageMax * 4;

    private readonly AcceptedSocket _socket;
    private readonly SocketWorkers _workers;
    private TaskCompletionSource? _ended; // made only when Completion is asked for (at the server's disposal): an idle connection holds none
    private int _hasEnded;
    private byte[]? _buffer; // rented while served or while it holds part of a request
    private int _filled;
    private int _spun; // what the spin's receive returned
    private volatile bool _onWorker;
    private bool _carriedInput; // a live update's bytes are in the buffer, to be handled before anything is received
    private byte[]? _carriedOutput; // a live update's bytes to send first, queued when the connection starts

    public SocketConnection(IStoreEngine engine, AcceptedSocket socket, int maxQueued, SocketWorkers workers)
        : base(engine, 0, socket.Description, maxQueued)
    {
        _socket = socket;
        _workers = workers;
    }

    /// <remarks>
    /// <see cref="End"/> sets <see cref="_hasEnded"/> and then completes <see cref="_ended"/> if it is there; this makes
    /// <see cref="_ended"/> and then looks at <see cref="_hasEnded"/>. Both steps are full fences (interlocked), so at
    /// least one side sees the other's write, and the task completes either way.
    /// </remarks>
    public override Task Completion
    {
        get
        {
            if (Volatile.Read(ref _hasEnded) != 0)
            {
                return Task.CompletedTask;
            }

            TaskCompletionSource ended = LazyInitializer.EnsureInitialized(
                ref _ended, static () => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            if (Volatile.Read(ref _hasEnded) != 0)
            {
                ended.TrySetResult();
            }

            return ended.Task;
        }
    }

    public override string Kind => "socket";

    /// <summary>
    /// Starts serving (the client's first request is normally on its way). A live update's carried output is queued
    /// only now, once the new process serves: it holds the update's OK, which must not promise a server not yet built.
    /// </summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _carriedOutput, null) is { } carried)
        {
            EnqueueCarried(carried);
        }

        _workers.Ready(this);
    }

    protected override void StartDrain() => _ = Task.Run(() => DrainAsync(0, resume: false));

    protected override void OnClosed() => _socket.Shutdown(); // wakes the parked receive, a slow send, a worker's poll

    /// <summary>
    /// Serves the connection on the calling worker until it parks, yields to a waiting connection, waits on a slow send,
    /// or ends.
    /// </summary>
    public void Serve()
    {
        _onWorker = true;
        try
        {
            ServeOnWorker();
        }
        finally
        {
            _onWorker = false;
        }
    }

    private void ServeOnWorker()
    {
        _buffer ??= ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (!IsClosed)
            {
                if (_workers.Frozen)
                {
                    _workers.Ready(this); // held until the live update ends: its buffer stays as it is, for the dump
                    return;
                }

                bool going;
                if (_carriedInput)
                {
                    _carriedInput = false; // what a live update carried is handled before anything new is received
                    going = HandleReceived(_buffer, ref _filled);
                }
                else
                {
                    int n = ReceiveNow(); // a pipelining client's next request is often there already
                    if (n < 0 && (n = WaitForRequest()) < 0)
                    {
                        Park(); // quiet for the keep time, or others wait for a worker
                        return;
                    }

                    going = Received(_buffer, ref _filled, n);
                }

                if (!going)
                {
                    break;
                }

                if (ClaimDrain() && !TrySendNow())
                {
                    return; // the rest goes asynchronously, which queues this connection again when done
                }

                if (_workers.HasWaiting)
                {
                    _workers.Ready(this); // yield
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Close(e.Message);
        }

        End();
    }

    /// <summary>
    /// Waits on this worker for the connection's next request and receives it: not at all when another connection waits
    /// for a worker; otherwise the shared spin, then up to <see cref="SocketWorkers.Keep"/> in <c>poll</c> (whose timeout
    /// is precise, where a receive timeout counts in the kernel's ticks).
    /// </summary>
    /// <remarks>
    /// The spin tries the receive itself rather than <c>poll</c>: a non-blocking <c>recv</c> on an empty socket only
    /// looks at its queue, where each <c>poll</c> joins and leaves the socket's wait queue, whose lock the client's
    /// <c>send</c> then contends for; and the request, once there, is taken by the same call.
    /// </remarks>
    /// <returns>The byte count received (0: the client closed its end), or -1 when the connection should park.</returns>
    private int WaitForRequest()
    {
        if (_workers.HasWaiting)
        {
            return -1;
        }

        if (_workers.Spin is { } spin)
        {
            try
            {
                _spun = -1;
                if (spin.Sleeping(this, this, static c => c.ReceiveSpinning()))
                {
                    return _spun;
                }

                if (!_socket.WaitReadable(SocketWorkers.Keep))
                {
                    return -1;
                }
            }
            finally
            {
                spin.Woke(this);
            }
        }
        else if (!_socket.WaitReadable(SocketWorkers.Keep))
        {
            return -1;
        }

        return ReceiveNow();
    }

    /// <summary>The spin's check: <see cref="ReceiveNow"/>, its byte count kept in <see cref="_spun"/>.</summary>
    private bool ReceiveSpinning()
    {
        _spun = ReceiveNow();
        return _spun >= 0;
    }

    /// <summary>Receives into the buffer's free part without waiting (<see cref="AcceptedSocket.TryReceive"/>'s result).</summary>
    private int ReceiveNow() => _socket.TryReceive(_buffer.AsSpan(_filled, BufferSize - _filled));

    /// <summary>
    /// Leaves the workers until the socket is readable; the receive buffer goes back to the pool unless it holds part of
    /// a request, and the output queue gives back its storage if empty.
    /// </summary>
    private void Park()
    {
        if (_filled == 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer!);
            _buffer = null;
        }

        TrimIdleOutput();
        _socket.Park(this);
    }

    /// <summary>The parked socket became readable (or was shut down): back to the workers' queue.</summary>
    public void Readable() => _workers.Ready(this);

    /// <summary>Sends what is queued as far as the socket takes it now; false when the rest was handed to an asynchronous send.</summary>
    private bool TrySendNow()
    {
        while (TakeBatch())
        {
            int sent = _socket.TrySend(Batch.Span);
            if (sent < Batch.Length)
            {
                _ = DrainAsync(sent, resume: true);
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Sends the rest of the batch from <paramref name="sent"/> on, then whatever is queued meanwhile, until the queue is
    /// empty; with <paramref name="resume"/>, queues the connection for a worker when done (its reading was held back).
    /// </summary>
    private async Task DrainAsync(int sent, bool resume)
    {
        try
        {
            ReadOnlyMemory<byte> rest = Batch[sent..]; // empty for a drain that starts afresh
            while (true)
            {
                await _socket.SendAsync(rest).ConfigureAwait(false);
                if (!TakeBatch())
                {
                    break;
                }

                rest = Batch;
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            DrainFailed(e);
        }
        finally
        {
            if (resume)
            {
                _workers.Ready(this);
            }
        }
    }

    /// <summary>Not on a worker, and no drain sending (one parked on a client that does not read is quiet: it sends nothing while frozen).</summary>
    public override bool IsQuiet => !_onWorker && (!IsDraining || _socket.ParkedSend is not null);

    /// <summary>The socket's descriptor, the bytes received and not handled, and the output not yet sent (a parked send's rest first).</summary>
    public override LiveUpdate.CarriedConnection? CarryOver()
    {
        if (_socket.Descriptor is not (int fd and >= 0))
        {
            return null;
        }

        byte[] unsent = IsDraining && _socket.ParkedSend is { } rest ? rest.ToArray() : [];
        return new LiveUpdate.CarriedConnection(fd, _buffer is null ? [] : _buffer.AsSpan(0, _filled).ToArray(), [.. unsent, .. QueuedBytes(0)]);
    }

    /// <summary>Takes what a live update carried (before <see cref="Start"/>): the bytes it had read are handled first, those it owed sent first.</summary>
    /// <exception cref="InvalidDataException">More bytes were carried than a connection's buffer holds.</exception>
    public void Resume(LiveUpdate.CarriedConnection carried)
    {
        if (carried.Input.Length > BufferSize)
        {
            throw new InvalidDataException($"The live update carried {carried.Input.Length} request bytes for a socket connection; it holds {BufferSize}.");
        }

        if (carried.Input.Length > 0)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            carried.Input.CopyTo(_buffer, 0);
            _filled = carried.Input.Length;
            _carriedInput = true;
        }

        _carriedOutput = carried.Output;
    }

    /// <summary>Detaches the ended connection from the engine and releases the socket and the buffer (on a worker, once).</summary>
    private void End()
    {
        Engine.Detach(this);
        _socket.Dispose();
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        _ = Interlocked.Exchange(ref _hasEnded, 1);
        Volatile.Read(ref _ended)?.TrySetResult();
    }
}
