using System.Net.Sockets;
using System.Runtime.InteropServices;
using Xen.Rings.Host.Native;

namespace Xen.Store.Server;

/// <summary>
/// An accepted connection kept as a bare descriptor (Linux): <c>recv</c>/<c>send</c> with <c>MSG_DONTWAIT</c>,
/// <c>poll</c> for a worker's wait, and the server's two <see cref="EpollSet"/>s for waits that hold no thread (parked
/// until readable; output the client is slow to take, until writable).
/// </summary>
/// <remarks>
/// Why not keep the runtime's <see cref="Socket"/>: an idle connection then costs the socket object, its handle and
/// its asynchronous context (about 500 bytes, measured), where this costs one small object; and a runtime socket that
/// waited asynchronously once stays in the runtime's epoll set, waking the runtime's socket thread for each later request
/// and reply. The descriptor is taken over with <c>F_DUPFD_CLOEXEC</c> and the socket object closed, so nothing else
/// refers to it.
/// </remarks>
internal sealed class FdSocket : AcceptedSocket, IEpollTarget
{
    private const int EAgain = 11;
    private const int EIntr = 4;

    private readonly SocketEpoll _epoll;
    private readonly FdHandle _fd;
    private SocketConnection? _parked;
    private WritableWait? _writable; // created on the first slow send
    private ReadOnlyMemory<byte> _unsent; // what a parked send has still to send
    private volatile bool _sendParked;

    private FdSocket(int fd, string description, SocketEpoll epoll)
        : base(description)
    {
        _fd = new FdHandle(fd);
        _epoll = epoll;
    }

    ulong IEpollTarget.EpollId { get; set; }

    /// <summary>Takes <paramref name="accepted"/>'s descriptor (a duplicate; the socket object is closed).</summary>
    /// <exception cref="IOException">The descriptor could not be duplicated.</exception>
    public static FdSocket TakeOver(Socket accepted, string description, SocketEpoll epoll)
    {
        using (accepted)
        {
            int fd = LibC.Fcntl((int)accepted.SafeHandle.DangerousGetHandle(), LibC.FDupFdCloExec, 0);
            if (fd < 0)
            {
                throw new IOException($"The accepted connection's descriptor could not be duplicated (errno {Marshal.GetLastPInvokeError()}).");
            }

            return new FdSocket(fd, description, epoll);
        }
    }

    /// <summary>Takes a descriptor the process inherited (a live update's): non-blocking calls only, as an accepted one.</summary>
    public static FdSocket Adopt(int fd, string description, SocketEpoll epoll) => new(fd, description, epoll);

    public override int Descriptor => (int)_fd.DangerousGetHandle();

    public override unsafe bool WaitReadable(TimeSpan timeout)
    {
        if (!TryEnter(out int fd))
        {
            return true; // closed: TryReceive reports it
        }

        try
        {
            var pfd = new LibC.PollFd { Fd = fd, Events = LibC.PollIn };
            int ms = (int)Math.Ceiling(timeout.TotalMilliseconds);
            int n;
            do
            {
                n = LibC.Poll(&pfd, 1, ms);
            }
            while (n < 0 && Marshal.GetLastPInvokeError() == EIntr);
            return n != 0; // ready, or an error TryReceive reports
        }
        finally
        {
            _fd.DangerousRelease();
        }
    }

    public override unsafe int TryReceive(Span<byte> buffer)
    {
        int fd = Enter();
        try
        {
            fixed (byte* p = buffer)
            {
                while (true)
                {
                    nint n = LibC.Recv(fd, p, (nuint)buffer.Length, LibC.MsgDontWait);
                    if (n >= 0)
                    {
                        return (int)n;
                    }

                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == EAgain)
                    {
                        return -1;
                    }

                    if (errno != EIntr)
                    {
                        throw Failed("recv", errno);
                    }
                }
            }
        }
        finally
        {
            _fd.DangerousRelease();
        }
    }

    public override unsafe int TrySend(ReadOnlySpan<byte> messages)
    {
        int fd = Enter();
        try
        {
            int sent = 0;
            fixed (byte* p = messages)
            {
                while (sent < messages.Length)
                {
                    nint n = LibC.Send(fd, p + sent, (nuint)(messages.Length - sent), LibC.MsgDontWait | LibC.MsgNoSignal);
                    if (n >= 0)
                    {
                        sent += (int)n;
                        continue;
                    }

                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == EAgain)
                    {
                        break;
                    }

                    if (errno != EIntr)
                    {
                        throw Failed("send", errno);
                    }
                }
            }

            return sent;
        }
        finally
        {
            _fd.DangerousRelease();
        }
    }

    /// <remarks>
    /// While it waits, the send is parked (<see cref="ParkedSend"/>); woken while a live update holds the sockets
    /// (<see cref="SocketEpoll.Hold"/>) it stays parked, sending nothing, so the bytes the update carries are exactly
    /// those it has not sent. The flag is cleared before the hold is looked at: seen set, the send cannot be sending.
    /// </remarks>
    public override async Task SendAsync(ReadOnlyMemory<byte> messages)
    {
        while (true)
        {
            messages = messages[TrySend(messages.Span)..];
            if (messages.IsEmpty)
            {
                return;
            }

            _unsent = messages;
            _sendParked = true;
            try
            {
                _writable ??= new WritableWait(this);
                await _writable.WaitAsync().ConfigureAwait(false);
                _sendParked = false;
                while (_epoll.Hold is { } hold)
                {
                    _sendParked = true;
                    await hold.ConfigureAwait(false);
                    _sendParked = false;
                }
            }
            finally
            {
                _sendParked = false;
                _unsent = default;
            }
        }
    }

    public override ReadOnlyMemory<byte>? ParkedSend => _sendParked ? _unsent : null;

    public override void Park(SocketConnection connection)
    {
        _parked = connection;
        bool armed = false;
        if (TryEnter(out int fd))
        {
            try
            {
                armed = _epoll.Readable.Arm(fd, this);
            }
            finally
            {
                _fd.DangerousRelease();
            }
        }

        if (!armed)
        {
            ((IEpollTarget)this).Fired(); // closed or broken: the worker's receive reports how
        }
    }

    void IEpollTarget.Fired()
    {
        if (Interlocked.Exchange(ref _parked, null) is { } connection) // null: fired after a failed arm was handled
        {
            connection.Readable();
        }
    }

    public override void Shutdown()
    {
        if (TryEnter(out int fd))
        {
            _ = LibC.Shutdown(fd, LibC.ShutRdWr); // ENOTCONN when the client already left: nothing to do
            _fd.DangerousRelease();
        }
    }

    public override void Dispose()
    {
        if (!TryEnter(out int fd))
        {
            return;
        }

        try
        {
            _epoll.Readable.Forget(fd, this);
            if (_writable is not null)
            {
                _epoll.Writable.Forget(fd, _writable);
                _writable.Abandon(); // a drain waiting on it ends with an error
            }
        }
        finally
        {
            _fd.DangerousRelease();
        }

        _fd.Dispose(); // closes the descriptor once no call is using it
    }

    /// <summary>
    /// The descriptor, held open until <see cref="SafeHandle.DangerousRelease"/>: a call on another thread (a drain's
    /// send, a shutdown) never reaches a number that was closed and given to another connection meanwhile.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The socket was disposed.</exception>
    private int Enter()
    {
        bool added = false;
        _fd.DangerousAddRef(ref added);
        return (int)_fd.DangerousGetHandle();
    }

    /// <summary><see cref="Enter"/>, or false when the socket was disposed.</summary>
    private bool TryEnter(out int fd)
    {
        try
        {
            fd = Enter();
            return true;
        }
        catch (ObjectDisposedException)
        {
            fd = -1;
            return false;
        }
    }

    private static IOException Failed(string call, int errno) => new($"{call}: {new SocketException(errno).Message}");

    /// <summary>One wait for writability at a time (a connection's single drain), in the writable set.</summary>
    private sealed class WritableWait(FdSocket socket) : IEpollTarget
    {
        private TaskCompletionSource? _pending;

        public ulong EpollId { get; set; }

        public Task WaitAsync()
        {
            var pending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _pending, pending);
            bool armed = false;
            if (socket.TryEnter(out int fd))
            {
                try
                {
                    armed = socket._epoll.Writable.Arm(fd, this);
                }
                finally
                {
                    socket._fd.DangerousRelease();
                }
            }

            if (!armed)
            {
                Abandon();
            }

            return pending.Task;
        }

        public void Fired() => Interlocked.Exchange(ref _pending, null)?.TrySetResult();

        public void Abandon() => Interlocked.Exchange(ref _pending, null)?.TrySetException(new IOException("send: the connection is closed"));
    }
}

/// <summary>The server's two epoll sets for its socket connections: quiet ones waiting to be readable, slow ones to be writable.</summary>
internal sealed class SocketEpoll
{
    /// <summary>Parked connections (EPOLLIN | EPOLLRDHUP: a request, end of stream or shutdown wakes them).</summary>
    public EpollSet Readable { get; } = new(LibC.EpollIn | LibC.EpollRdHup, "xenstored-epoll");

    /// <summary>Connections whose client is slow to take its output.</summary>
    public EpollSet Writable { get; } = new(LibC.EpollOut, "xenstored-epollout");

    private TaskCompletionSource? _hold;

    /// <summary>While a live update holds the sockets: completes when it lets them go (a slow send waits for it before sending on); null otherwise.</summary>
    public Task? Hold => Volatile.Read(ref _hold)?.Task;

    /// <summary>A live update holds the sockets: parked sends stay parked.</summary>
    public void Freeze() => Volatile.Write(ref _hold, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>The live update failed: parked sends go on.</summary>
    public void Thaw() => Interlocked.Exchange(ref _hold, null)?.TrySetResult();

    public void Stop()
    {
        Readable.Stop();
        Writable.Stop();
    }
}

/// <summary>A descriptor closed when released (<see cref="FdSocket"/>'s).</summary>
internal sealed class FdHandle : SafeHandle
{
    public FdHandle(int fd)
        : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle < 0;

    protected override bool ReleaseHandle() => LibC.Close((int)handle) == 0;
}
