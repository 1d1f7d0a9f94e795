using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// An accepted Unix-socket connection (dom0), served by a thread of its own that blocks in <c>recv</c> and answers on
/// the same thread, as a C daemon's loop does: a request then costs one wake-up, where the asynchronous path costs
/// the socket engine's wake-up and a thread-pool hop (measured: about half the round-trip time of a sequential
/// client). Before it sleeps the thread may poll for the next request (<see cref="SocketSpin"/>).
/// </summary>
/// <remarks>
/// No asynchronous operation ever touches the socket: watch events queued while the thread sleeps are sent by a
/// blocking drain on the thread pool, and <see cref="ServerConnection.Close"/> shuts the socket down to wake the
/// thread.
/// </remarks>
internal sealed class SocketConnection : ByteStreamConnection
{
    private readonly AcceptedSocket _socket;
    private readonly SocketSpin? _spin;
    private Task _loop = Task.CompletedTask;

    public SocketConnection(IStoreEngine engine, AcceptedSocket socket, int maxQueued, SocketSpin? spin)
        : base(engine, 0, socket.Description, maxQueued)
    {
        _socket = socket;
        _spin = spin;
    }

    public override Task Completion => _loop;

    /// <summary>Starts the connection's thread.</summary>
    public void Start() =>
        _loop = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    protected override void StartDrain() => _ = Task.Run(Drain);

    protected override void OnClosed() => _socket.Shutdown(); // wakes the thread blocked in recv

    private void Run()
    {
        byte[] buffer = new byte[XsHeader.MessageMax * 4];
        int filled = 0;
        Func<bool> readable = _socket.Readable;
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

                int n = _socket.Receive(buffer.AsSpan(filled));
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
                    Drain();
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

            Engine.Detach(this);
            _socket.Dispose();
        }
    }

    private void Drain()
    {
        try
        {
            while (TakeBatch())
            {
                _socket.Send(Batch.Span);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            DrainFailed(e);
        }
    }
}
