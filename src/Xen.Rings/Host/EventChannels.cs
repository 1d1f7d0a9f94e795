using Xen.Rings.Host.Native;

namespace Xen.Rings.Host;

/// <summary>
/// An open event channel device (libxenevtchn's <c>xenevtchn_handle</c>, <c>/dev/xen/evtchn</c>): binds ports and
/// hands each out as an <see cref="EventChannelPort"/>, the <see cref="Events.IEventChannel"/> every ring of the
/// library takes.
/// </summary>
/// <remarks>
/// <para>
/// One handle serves any number of ports, as C xenstored uses one for all its guests. Waiting costs no thread per
/// port or per handle: one process-wide poller thread <c>poll()</c>s every handle's descriptor, takes each pending port
/// (<c>xenevtchn_pending</c>), unmasks it (<c>xenevtchn_unmask</c>) and completes that port's waiter. Notifications
/// coalesce as in Xen, so a woken waiter re-checks its ring.
/// </para>
/// <para>
/// For a caller with its own event loop, <see cref="FileDescriptor"/>, <see cref="TryTakePending"/> and
/// <see cref="Unmask"/> are the raw calls; do not mix them with <see cref="EventChannelPort.WaitAsync"/> on the same
/// handle (both would take the same pending ports). Binding, notifying and disposing are thread-safe.
/// </para>
/// </remarks>
public sealed class EventChannels : IDisposable
{
    private readonly XenHandle _handle;
    private readonly object _gate = new();
    private readonly Dictionary<uint, EventChannelPort> _ports = [];
    private bool _registered;
    private bool _disposed;

    private EventChannels(XenHandle handle)
    {
        _handle = handle;
        FileDescriptor = Evtchn.Fd(handle);
    }

    /// <summary>Opens the event channel device (<c>xenevtchn_open</c>).</summary>
    /// <exception cref="DllNotFoundException">libxenevtchn.so.1 is not installed (the message names its package).</exception>
    /// <exception cref="XenHostException">The device could not be opened (no Xen, or not permitted).</exception>
    public static EventChannels Open() =>
        new(XenHandle.Open(XenLibrary.Evtchn, "xenevtchn_open", static () => Evtchn.Open(0, 0), Evtchn.Close));

    /// <summary>The handle's file descriptor (<c>xenevtchn_fd</c>): readable when a port is pending.</summary>
    public int FileDescriptor { get; }

    /// <summary>
    /// Binds a local port to port <paramref name="remotePort"/> of domain <paramref name="domainId"/>
    /// (<c>xenevtchn_bind_interdomain</c>): the back-end end of a channel the guest allocated.
    /// </summary>
    /// <exception cref="XenHostException">The bind failed (no such domain or port, or the port is not offered to us).</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public EventChannelPort BindInterdomain(uint domainId, uint remotePort) =>
        Bind(() => Evtchn.BindInterdomain(_handle, domainId, remotePort),
            () => $"xenevtchn_bind_interdomain(domain {domainId}, port {remotePort})", domainId, remotePort, virq: null);

    /// <summary>
    /// Allocates a local port that domain <paramref name="remoteDomainId"/> may bind (<c>xenevtchn_bind_unbound_port</c>):
    /// the front-end end, whose number the guest advertises (in xenstore, say).
    /// </summary>
    /// <exception cref="XenHostException">The allocation failed.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public EventChannelPort BindUnboundPort(uint remoteDomainId) =>
        Bind(() => Evtchn.BindUnboundPort(_handle, remoteDomainId),
            () => $"xenevtchn_bind_unbound_port(domain {remoteDomainId})", remoteDomainId, remotePort: null, virq: null);

    /// <summary>
    /// Binds virtual IRQ <paramref name="virq"/> (<c>xenevtchn_bind_virq</c>; VIRQ_DOM_EXC = 3 tells xenstored that a
    /// domain died). Its <see cref="EventChannelPort.Notify"/> throws: a VIRQ only comes from the hypervisor.
    /// </summary>
    /// <exception cref="XenHostException">The bind failed.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public EventChannelPort BindVirq(uint virq) =>
        Bind(() => Evtchn.BindVirq(_handle, virq), () => $"xenevtchn_bind_virq({virq})", null, null, virq);

    /// <summary>VIRQ_DOM_EXC: a domain died or shut down (xen.h).</summary>
    public const uint VirqDomainException = 3;

    /// <summary>Notifies local port <paramref name="localPort"/>'s peer (<c>xenevtchn_notify</c>).</summary>
    /// <exception cref="XenHostException">The notify failed (the port is not bound on this handle).</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public void Notify(uint localPort)
    {
        if (Evtchn.Notify(_handle, localPort) != 0)
        {
            throw XenHostException.FromLastError($"xenevtchn_notify({localPort})");
        }
    }

    /// <summary>
    /// Takes the next pending port (<c>xenevtchn_pending</c>); false when none is pending. Call it when
    /// <see cref="FileDescriptor"/> is readable: on a real device it blocks otherwise. Unmask the port afterwards.
    /// </summary>
    /// <exception cref="XenHostException">The device failed.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public bool TryTakePending(out uint localPort)
    {
        int port = Evtchn.Pending(_handle);
        if (port >= 0)
        {
            localPort = (uint)port;
            return true;
        }

        int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        localPort = 0;
        return errno is LibC.EAgain or LibC.EIntr ? false : throw new XenHostException("xenevtchn_pending", errno);
    }

    /// <summary>Unmasks <paramref name="localPort"/> after its event was taken (<c>xenevtchn_unmask</c>), so the next one is delivered.</summary>
    /// <exception cref="XenHostException">The unmask failed.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public void Unmask(uint localPort)
    {
        if (Evtchn.Unmask(_handle, localPort) != 0)
        {
            throw XenHostException.FromLastError($"xenevtchn_unmask({localPort})");
        }
    }

    /// <summary>Unbinds every port (their waits fail with <see cref="ObjectDisposedException"/>) and closes the device.</summary>
    public void Dispose()
    {
        EventChannelPort[] ports;
        bool registered;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            ports = [.. _ports.Values];
            _ports.Clear();
            registered = _registered;
        }

        // The poller must have stopped polling the descriptor before it is closed: a closed number can be reused at once.
        if (registered)
        {
            EventChannelPoller.Instance.Unregister(this);
        }

        foreach (EventChannelPort port in ports)
        {
            port.Close(unbind: false);
        }

        _handle.Dispose(); // xenevtchn_close unbinds whatever is left
    }

    internal XenHandle Handle => _handle;

    /// <summary>Called by the poller when the descriptor is readable: takes one pending port and wakes its waiter.</summary>
    internal void DispatchPending()
    {
        EventChannelPort? port;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            int pending = Evtchn.Pending(_handle);
            if (pending < 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno is LibC.EAgain or LibC.EIntr)
                {
                    return;
                }

                Fault(new XenHostException("xenevtchn_pending", errno));
                return;
            }

            _ = Evtchn.Unmask(_handle, (uint)pending); // unmask before waking: an event after the check is not lost
            _ports.TryGetValue((uint)pending, out port);
        }

        port?.Deliver();
    }

    /// <summary>The descriptor failed (closed under us, or the device broke): every waiter learns why.</summary>
    internal void Fault(Exception error)
    {
        EventChannelPort[] ports;
        lock (_gate)
        {
            ports = [.. _ports.Values];
        }

        foreach (EventChannelPort port in ports)
        {
            port.Signal.Dispose(error);
        }
    }

    internal void Unbind(EventChannelPort port)
    {
        lock (_gate)
        {
            if (_disposed || !_ports.Remove(port.LocalPort))
            {
                return;
            }

            _ = Evtchn.Unbind(_handle, port.LocalPort);
        }
    }

    private EventChannelPort Bind(Func<int> bind, Func<string> describe, uint? remoteDomainId, uint? remotePort, uint? virq)
    {
        EventChannelPort port;
        bool register;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int local = bind();
            if (local < 0)
            {
                throw XenHostException.FromLastError(describe());
            }

            port = new EventChannelPort(this, (uint)local, remoteDomainId, remotePort, virq);
            _ports[(uint)local] = port;
            register = !_registered;
            _registered = true;
        }

        if (register)
        {
            EventChannelPoller.Instance.Register(this);
        }

        return port;
    }
}
