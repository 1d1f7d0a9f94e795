using Xen.Rings.Host.Native;

namespace Xen.Rings.Host;

/// <summary>
/// The one thread that waits for every <see cref="EventChannels"/> handle in the process.
/// </summary>
/// <remarks>
/// <para>
/// Design: a daemon binds thousands of ports, on a handful of handles, and a waiter per port must not cost a thread.
/// This thread <c>poll()</c>s each registered handle's descriptor (level-triggered) plus the read end of a wake-up
/// pipe. A readable handle gets one <see cref="EventChannels.DispatchPending"/> (one port taken, unmasked, its waiter
/// completed on the thread pool); if more are pending the next <c>poll()</c> returns at once. <c>xenevtchn_pending</c>
/// is only called when the descriptor is readable, because on the real device it is a blocking <c>read()</c>.
/// </para>
/// <para>
/// Registration changes are published under <see cref="_gate"/> and the thread is woken through the pipe to pick them
/// up. <see cref="Unregister"/> returns only after the thread has rebuilt its descriptor set without the handle, so the
/// handle can close its descriptor without the poller ever polling a reused number.
/// </para>
/// </remarks>
internal sealed unsafe class EventChannelPoller
{
    public static EventChannelPoller Instance => Lazy.Value;

    private static readonly Lazy<EventChannelPoller> Lazy = new(() => new EventChannelPoller());

    private readonly object _gate = new();
    private readonly List<EventChannels> _handles = [];
    private readonly int _wakeRead;
    private readonly int _wakeWrite;
    private readonly Thread _thread;
    private long _version;        // bumped on every change to _handles
    private long _appliedVersion = -1; // the version the thread polls with (none yet: build the set, wake pipe first)

    private EventChannelPoller()
    {
        int* fds = stackalloc int[2];
        if (LibC.Pipe2(fds, LibC.OCloExec | 0x800 /* O_NONBLOCK */) != 0)
        {
            throw XenHostException.FromLastError("pipe2 (event channel poller)");
        }

        _wakeRead = fds[0];
        _wakeWrite = fds[1];
        _thread = new Thread(Run) { IsBackground = true, Name = "xen-evtchn-poll" };
        _thread.Start();
    }

    public void Register(EventChannels handle)
    {
        lock (_gate)
        {
            _handles.Add(handle);
            _version++;
        }

        Wake();
    }

    public void Unregister(EventChannels handle)
    {
        long wanted;
        lock (_gate)
        {
            if (!_handles.Remove(handle))
            {
                return;
            }

            wanted = ++_version;
        }

        Wake();
        if (Thread.CurrentThread == _thread)
        {
            return; // the thread rebuilds its set before it polls again
        }

        lock (_gate)
        {
            while (_appliedVersion < wanted)
            {
                Monitor.Wait(_gate);
            }
        }
    }

    private void Wake()
    {
        byte one = 1;
        _ = LibC.Write(_wakeWrite, &one, 1); // a full pipe already means "wake up"
    }

    private void Run()
    {
        EventChannels[] handles = [];
        LibC.PollFd[] fds = [];
        byte* drain = stackalloc byte[64];
        while (true)
        {
            lock (_gate)
            {
                if (_appliedVersion != _version)
                {
                    handles = [.. _handles];
                    fds = new LibC.PollFd[handles.Length + 1];
                    fds[0] = new LibC.PollFd { Fd = _wakeRead, Events = LibC.PollIn };
                    for (int i = 0; i < handles.Length; i++)
                    {
                        fds[i + 1] = new LibC.PollFd { Fd = handles[i].FileDescriptor, Events = LibC.PollIn };
                    }

                    _appliedVersion = _version;
                    Monitor.PulseAll(_gate);
                }
            }

            int ready;
            fixed (LibC.PollFd* p = fds)
            {
                ready = LibC.Poll(p, (nuint)fds.Length, -1);
            }

            if (ready <= 0)
            {
                continue; // EINTR
            }

            if (fds[0].REvents != 0)
            {
                while (LibC.Read(_wakeRead, drain, 64) > 0)
                {
                }
            }

            for (int i = 1; i < fds.Length; i++)
            {
                short events = fds[i].REvents;
                if ((events & LibC.PollIn) != 0)
                {
                    handles[i - 1].DispatchPending();
                }
                else if ((events & (LibC.PollErr | LibC.PollHup | LibC.PollNVal)) != 0)
                {
                    Fail(handles[i - 1], events);
                }
            }
        }
    }

    private void Fail(EventChannels handle, short events)
    {
        lock (_gate)
        {
            if (_handles.Remove(handle))
            {
                _version++;
            }
        }

        handle.Fault(new XenHostException($"the event channel device (fd {handle.FileDescriptor}) failed (poll revents 0x{events:x})"));
    }
}
