using System.Net.Sockets;
using System.Runtime.InteropServices;
using Xen.Rings.Host.Native;

namespace Xen.Store.Server;

/// <summary>
/// Accepts a listening Unix socket's clients with <c>accept4</c> on its descriptor (Linux), each straight into a bare
/// descriptor (<see cref="FdSocket"/>): the listener waits one-shot in the server's readable epoll set, and each time
/// it fires, one thread-pool work item accepts until the backlog is empty, then arms it again.
/// </summary>
/// <remarks>
/// <para>
/// Why not the runtime's <c>AcceptAsync</c>: it makes a <see cref="Socket"/> per client, which the server only took the
/// descriptor of and released; that garbage was most of what an idle connection cost (measured: about 2 KiB of resident
/// set per connection for the native daemon, of which 1 was live). The wait costs no thread of its own: the epoll set's
/// thread is there for the parked connections anyway.
/// </para>
/// <para>
/// Concurrency: one accept pass runs at a time, because the listener is armed again only when a pass ends (the set
/// is one-shot). <see cref="_gate"/> orders the end of a pass against <see cref="Stop"/>: whichever comes second sees
/// the other, so after <see cref="Stop"/> the listener is neither armed again nor accepted on, and
/// <see cref="Completion"/> completes once no pass runs. The descriptor goes to every call as the listener's
/// <see cref="SafeHandle"/>, so the listener closed meanwhile makes a call throw instead of reaching a number reused.
/// </para>
/// <para>
/// Out of descriptors. A process at its open-file limit dies as soon as the runtime needs a descriptor of its own
/// (starting a thread, loading an assembly: measured, the runtime prints "Out of memory." and exits), so a client is
/// served only while <see cref="ReservedDescriptors"/> stay free: one whose descriptor is that close to the soft
/// <c>RLIMIT_NOFILE</c> is closed at once (refused, as a C daemon at its limit refuses it; the kernel gives the lowest
/// free number, so a high number means the ones below are all taken). Once clients have left, new ones get low numbers
/// and are served again. The limit is read again whenever a number reaches it, so a limit raised under a running
/// daemon (<c>prlimit --pid</c>) is used. Should the process still run out (EMFILE, ENFILE: the reserve used by
/// something else), a client the process has no descriptor for stays in the backlog, the listener stays readable, and
/// arming it again would spin; so the acceptor also keeps a spare (a pipe's two descriptors): at EMFILE it lets the
/// spare go, and each client accepted while the spare cannot be made again is refused. Out of kernel memory (ENOBUFS,
/// ENOMEM), or out of descriptors with no spare to give, the pass sleeps <see cref="OutOfResourcesBackOff"/> on its
/// thread and tries again (no timer: a timer's thread would have to start, which takes descriptors).
/// </para>
/// </remarks>
internal sealed class FdAcceptor : IEpollTarget, IThreadPoolWorkItem
{
    /// <summary>How long accepting pauses when the process or the system is out of descriptors.</summary>
    public static readonly TimeSpan OutOfResourcesBackOff = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Descriptors kept free for the process's own needs (threads, assemblies, the journal's and the logs' files): a
    /// client is served only while its descriptor is below the open-file limit less these.
    /// </summary>
    public const int ReservedDescriptors = 32;

    private const int ENoMem = 12;
    private const int ENFile = 23;
    private const int EMFile = 24;
    private const int EProto = 71;
    private const int ENoBufs = 105;
    private const int EConnAborted = 103;

    private readonly SafeHandle _listener;
    private readonly SocketEpoll _epoll;
    private readonly Action<int> _accepted;
    private readonly object _gate = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _passRunning; // under _gate
    private bool _stopped; // under _gate
    private volatile bool _stopping; // _stopped, for a pass sleeping at a shortage
    private readonly Action _refused;
    private int _spareRead = -1; // the spare pipe (-1: let go); touched by the one pass that runs, and by End
    private int _spareWrite = -1;
    private int _servedBelow; // the soft open-file limit less the reserve, as last read; touched by the one pass that runs

    /// <param name="listener">The listening socket's handle (in non-blocking mode), owned by the caller, who closes it after <see cref="Stop"/>.</param>
    /// <param name="epoll">The server's epoll sets (the listener waits in the readable one).</param>
    /// <param name="accepted">Takes each accepted descriptor (close-on-exec, non-blocking); called on a thread-pool thread, one at a time.</param>
    /// <param name="refused">Told of each client closed at once for want of a descriptor to spare (for the log).</param>
    public FdAcceptor(SafeHandle listener, SocketEpoll epoll, Action<int> accepted, Action refused)
    {
        _listener = listener;
        _epoll = epoll;
        _accepted = accepted;
        _refused = refused;
        _servedBelow = ServedBelow();
        _ = TryMakeSpare();
    }

    ulong IEpollTarget.EpollId { get; set; }

    /// <summary>Completes when accepting has ended (after <see cref="Stop"/>, or when the listener broke).</summary>
    public Task Completion => _ended.Task;

    /// <summary>Accepts whoever is in the backlog already, then waits for more.</summary>
    public void Start() => Queue();

    /// <summary>Accepts nothing more; <see cref="Completion"/> completes once a pass under way has ended (at once otherwise).</summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            _stopping = true;
            if (!_passRunning)
            {
                End();
            }
        }
    }

    void IEpollTarget.Fired() => Queue();

    void IThreadPoolWorkItem.Execute()
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            _passRunning = true;
        }

        bool emptied = AcceptAll(); // false: the listener is gone, or the server stops
        lock (_gate)
        {
            _passRunning = false;
            if (!_stopped && !(emptied && _epoll.Readable.Arm(_listener, this)))
            {
                _stopped = true; // the listener was closed or broke: nothing more to accept on it
            }

            if (_stopped)
            {
                End();
            }
        }
    }

    private void Queue() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    /// <summary>One pass: accepts until the backlog is empty (true), or the listener is gone or the server stops (false).</summary>
    private bool AcceptAll()
    {
        while (!_stopping)
        {
            int fd;
            try
            {
                fd = LibC.Accept4(_listener, 0, 0, LibC.SockCloExec | LibC.SockNonBlock);
            }
            catch (ObjectDisposedException)
            {
                return false;
            }

            if (fd >= 0)
            {
                if ((fd >= _servedBelow && fd >= (_servedBelow = ServedBelow())) || (_spareRead < 0 && !TryMakeSpare()))
                {
                    _ = LibC.Close(fd); // refused: serving it would leave the process too few descriptors of its own
                    _refused();
                }
                else
                {
                    _accepted(fd);
                }

                continue;
            }

            switch (Marshal.GetLastPInvokeError())
            {
                case LibC.EAgain:
                    return true;
                case LibC.EIntr or EConnAborted or EProto:
                    continue; // this client is gone, or a signal came: the next one
                case EMFile or ENFile when _spareRead >= 0:
                    LetSpareGo(); // its descriptors take the clients waiting now, each refused
                    continue;
                case EMFile or ENFile or ENoBufs or ENoMem:
                    Thread.Sleep(OutOfResourcesBackOff);
                    continue;
                default:
                    return false; // EBADF, EINVAL (not listening any more), ENOTSOCK: the listener is gone
            }
        }

        return false;
    }

    /// <summary>The lowest descriptor number not served: the soft open-file limit less <see cref="ReservedDescriptors"/>.</summary>
    private static unsafe int ServedBelow()
    {
        ulong* limits = stackalloc ulong[2];
        if (LibC.GetRLimit(LibC.RLimitNoFile, limits) != 0 || limits[0] >= int.MaxValue)
        {
            return int.MaxValue; // unknown or unlimited: only EMFILE says when
        }

        return (int)limits[0] - ReservedDescriptors;
    }

    private unsafe bool TryMakeSpare()
    {
        int* fds = stackalloc int[2];
        if (LibC.Pipe2(fds, LibC.OCloExec) != 0)
        {
            return false;
        }

        (_spareRead, _spareWrite) = (fds[0], fds[1]);
        return true;
    }

    private void LetSpareGo()
    {
        if (_spareRead >= 0)
        {
            _ = LibC.Close(_spareRead);
            _ = LibC.Close(_spareWrite);
            (_spareRead, _spareWrite) = (-1, -1);
        }
    }

    /// <summary>Under <see cref="_gate"/>, once stopped with no pass running: drops the listener's registration and completes.</summary>
    private void End()
    {
        _epoll.Readable.Forget(_listener, this);
        LetSpareGo();
        _ = _ended.TrySetResult();
    }
}
