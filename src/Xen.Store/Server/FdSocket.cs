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
/// <para>
/// Why not the runtime's <see cref="Socket"/>: an idle connection then costs the socket object, its handle and its
/// asynchronous context (about 500 bytes, measured), where this costs two small objects; and a runtime socket that
/// waited asynchronously once stays in the runtime's epoll set, waking the runtime's socket thread for each later
/// request and reply. The descriptor comes from <c>accept4</c> on the listener (<see cref="FdAcceptor"/>), so no
/// runtime socket is ever made for it, or from a live update's old process.
/// </para>
/// <para>
/// The descriptor is held by a <see cref="SafeHandle"/> and every call passes that handle, not the number (the
/// marshaller holds a reference for the call): a drain's send or a shutdown on another thread never reaches a number
/// that was closed and given to another connection meanwhile, and a call after <see cref="Dispose"/> throws
/// <see cref="ObjectDisposedException"/>.
/// </para>
/// </remarks>
internal sealed class FdSocket : AcceptedSocket, IEpollTarget
{
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

    /// <summary>
    /// Takes a connected descriptor this process owns from now on (one <c>accept4</c> returned, or one inherited from a
    /// live update's old process): non-blocking calls only, whatever its mode.
    /// </summary>
    public static FdSocket Adopt(int fd, string description, SocketEpoll epoll) => new(fd, description, epoll);

    public override int Descriptor => (int)_fd.DangerousGetHandle();

    public override unsafe bool WaitReadable(TimeSpan timeout)
    {
        // poll takes the number inside struct pollfd, so this one call holds the handle itself.
        bool added = false;
        try
        {
            _fd.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            return true; // closed: TryReceive reports it
        }

        try
        {
            var pfd = new LibC.PollFd { Fd = (int)_fd.DangerousGetHandle(), Events = LibC.PollIn };
            int ms = (int)Math.Ceiling(timeout.TotalMilliseconds);
            int n;
            do
            {
                n = LibC.Poll(&pfd, 1, ms);
            }
            while (n < 0 && Marshal.GetLastPInvokeError() == LibC.EIntr);
            return n != 0; // ready, or an error TryReceive reports
        }
        finally
        {
            _fd.DangerousRelease();
        }
    }

    public override unsafe int TryReceive(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = LibC.Recv(_fd, p, (nuint)buffer.Length, LibC.MsgDontWait);
                if (n >= 0)
                {
                    return (int)n;
                }

                int errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EAgain)
                {
                    return -1;
                }

                if (errno != LibC.EIntr)
                {
                    throw Failed("recv", errno);
                }
            }
        }
    }

    public override unsafe int TrySend(ReadOnlySpan<byte> messages)
    {
        int sent = 0;
        fixed (byte* p = messages)
        {
            while (sent < messages.Length)
            {
                nint n = LibC.Send(_fd, p + sent, (nuint)(messages.Length - sent), LibC.MsgDontWait | LibC.MsgNoSignal);
                if (n >= 0)
                {
                    sent += (int)n;
                    continue;
                }

                int errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EAgain)
                {
                    break;
                }

                if (errno != LibC.EIntr)
                {
                    throw Failed("send", errno);
                }
            }
        }

        return sent;
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
        if (!_epoll.Readable.Arm(_fd, this))
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
        try
        {
            _ = LibC.Shutdown(_fd, LibC.ShutRdWr); // ENOTCONN when the client already left: nothing to do
        }
        catch (ObjectDisposedException)
        {
            // closed already: nothing waits on it
        }
    }

    public override void Dispose()
    {
        if (_fd.IsClosed)
        {
            return;
        }

        _epoll.Readable.Forget(_fd, this);
        if (_writable is not null)
        {
            _epoll.Writable.Forget(_fd, _writable);
            _writable.Abandon(); // a drain waiting on it ends with an error
        }

        _fd.Dispose(); // closes the descriptor once no call is using it
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
            if (!socket._epoll.Writable.Arm(socket._fd, this))
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
