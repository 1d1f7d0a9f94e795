using System.Runtime.InteropServices;
using Xen.Rings.Host.Native;

namespace Xen.Store.Server;

/// <summary>
/// One epoll set and the one thread that waits on it (Linux): a descriptor armed with <see cref="Arm"/> fires once
/// (EPOLLONESHOT) when it is ready for <see cref="_events"/>, and its target's <see cref="IEpollTarget.Fired"/> runs on
/// the set's thread. Thousands of quiet sockets thus wait at the cost of one thread and one kernel registration each.
/// </summary>
/// <remarks>
/// <para>
/// Why one-shot: a socket being served must raise no event at all (a level- or edge-triggered registration would wake
/// this thread for every request and reply of a busy client), and a descriptor that fired cannot fire again until its
/// owner re-arms it, so the owner knows no event for it is in flight once it was handed back.
/// </para>
/// <para>
/// An event carries its target's id in the set (<see cref="IEpollTarget.EpollId"/>, given on the first arm), looked up
/// when it fires; <see cref="Forget"/> removes the id, so an event already taken from the kernel for a descriptor that
/// is being closed finds nothing, or finds a target that tolerates a late <see cref="IEpollTarget.Fired"/>. The set is
/// created, with its thread, on the first <see cref="Arm"/>; <see cref="Stop"/> wakes the thread through a pipe and
/// joins it.
/// </para>
/// </remarks>
internal sealed unsafe class EpollSet(uint events, string threadName)
{
    private const int Batch = 64;
    private const ulong WakeData = 0; // the wake-up pipe's registration (targets' ids start at 1)

    private readonly uint _events = events;
    private readonly object _gate = new();
    private readonly Dictionary<ulong, IEpollTarget> _targets = []; // under _gate
    private ulong _lastId;
    private int _epoll = -1;
    private int _wakeRead = -1;
    private int _wakeWrite = -1;
    private Thread? _thread;
    private bool _stopped;

    /// <summary>Arms <paramref name="fd"/> for one readiness; when that comes, <paramref name="target"/> is told on the set's thread.</summary>
    /// <returns><see langword="false"/> when the descriptor could not be armed (it is closed or broken: the caller finds out how by using it).</returns>
    /// <exception cref="IOException">The set could not be created.</exception>
    public bool Arm(SafeHandle fd, IEpollTarget target)
    {
        EnsureStarted();
        bool add = target.EpollId == 0;
        if (add)
        {
            lock (_gate)
            {
                target.EpollId = ++_lastId;
                _targets.Add(target.EpollId, target);
            }
        }

        byte* ev = stackalloc byte[16];
        LibC.EpollEvent.Write(ev, _events | LibC.EpollOneShot, target.EpollId);
        try
        {
            return LibC.EpollCtl(_epoll, add ? LibC.EpollCtlAdd : LibC.EpollCtlMod, fd, ev) == 0;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Removes <paramref name="fd"/> (about to be closed, or closed already: the kernel then dropped its registration) and
    /// its target; an event of it already under way is dropped.
    /// </summary>
    public void Forget(SafeHandle fd, IEpollTarget target)
    {
        if (target.EpollId == 0)
        {
            return;
        }

        lock (_gate)
        {
            _targets.Remove(target.EpollId);
        }

        try
        {
            _ = LibC.EpollCtl(_epoll, LibC.EpollCtlDel, fd, null);
        }
        catch (ObjectDisposedException)
        {
        }

        target.EpollId = 0;
    }

    /// <summary>Ends the thread and closes the set (after every descriptor was forgotten).</summary>
    public void Stop()
    {
        lock (_gate)
        {
            _stopped = true;
            if (_thread is null)
            {
                return;
            }
        }

        byte one = 1;
        _ = LibC.Write(_wakeWrite, &one, 1);
        _thread.Join();
        _ = LibC.Close(_epoll);
        _ = LibC.Close(_wakeRead);
        _ = LibC.Close(_wakeWrite);
    }

    private void EnsureStarted()
    {
        if (Volatile.Read(ref _thread) is not null)
        {
            return;
        }

        lock (_gate)
        {
            if (_thread is not null)
            {
                return;
            }

            ObjectDisposedException.ThrowIf(_stopped, this);
            int epoll = LibC.EpollCreate1(LibC.OCloExec);
            int* fds = stackalloc int[2];
            if (epoll < 0 || LibC.Pipe2(fds, LibC.OCloExec | 0x800 /* O_NONBLOCK */) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (epoll >= 0)
                {
                    _ = LibC.Close(epoll);
                }

                throw new IOException($"{threadName}: epoll_create1/pipe2 failed (errno {errno}).");
            }

            byte* ev = stackalloc byte[16];
            LibC.EpollEvent.Write(ev, LibC.EpollIn, WakeData);
            _ = LibC.EpollCtl(epoll, LibC.EpollCtlAdd, fds[0], ev);
            (_epoll, _wakeRead, _wakeWrite) = (epoll, fds[0], fds[1]);
            var thread = new Thread(Run) { IsBackground = true, Name = threadName };
            thread.UnsafeStart();
            Volatile.Write(ref _thread, thread);
        }
    }

    private void Run()
    {
        byte* events = stackalloc byte[Batch * 16];
        while (true)
        {
            int n = LibC.EpollWait(_epoll, events, Batch, -1); // -1: EINTR, wait again
            for (int i = 0; i < n; i++)
            {
                ulong id = LibC.EpollEvent.Data(events + (i * LibC.EpollEvent.Size));
                IEpollTarget? target = null;
                lock (_gate)
                {
                    if (id == WakeData && _stopped)
                    {
                        return;
                    }

                    _ = _targets.TryGetValue(id, out target);
                }

                target?.Fired();
            }
        }
    }
}

/// <summary>What an <see cref="EpollSet"/> tells when a descriptor armed for it is ready.</summary>
internal interface IEpollTarget
{
    /// <summary>The target's id in the set its descriptor is armed in (0: none): given by the first arm, cleared by <see cref="EpollSet.Forget"/>.</summary>
    ulong EpollId { get; set; }

    /// <summary>The descriptor is ready (on the set's thread: hand the work on, do not do it here).</summary>
    void Fired();
}
