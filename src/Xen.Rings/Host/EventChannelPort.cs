using Xen.Rings.Events;

namespace Xen.Rings.Host;

/// <summary>
/// One bound local port of an <see cref="EventChannels"/> handle, as the <see cref="IEventChannel"/> a ring takes:
/// <see cref="Notify"/> is <c>xenevtchn_notify</c>, <see cref="WaitAsync"/> completes when the port is pending, and
/// <see cref="Dispose"/> is <c>xenevtchn_unbind</c>.
/// </summary>
public sealed class EventChannelPort : IEventChannel, IEventHandlerSource
{
    private readonly EventChannels _owner;
    private int _closed;

    internal EventChannelPort(EventChannels owner, uint localPort, uint? remoteDomainId, uint? remotePort, uint? virq)
    {
        _owner = owner;
        LocalPort = localPort;
        RemoteDomainId = remoteDomainId;
        RemotePort = remotePort;
        Virq = virq;
    }

    /// <summary>This end's port number (what a front end advertises for an unbound port).</summary>
    public uint LocalPort { get; }

    /// <summary>The peer domain (null for a VIRQ).</summary>
    public uint? RemoteDomainId { get; }

    /// <summary>The peer's port for an interdomain bind (null for an unbound port or a VIRQ).</summary>
    public uint? RemotePort { get; }

    /// <summary>The virtual IRQ this port is bound to (null otherwise).</summary>
    public uint? Virq { get; }

    private Action? _onEvent;

    internal AsyncSignal Signal { get; } = new();

    /// <summary>
    /// Runs <paramref name="handler"/> for each event of this port, on the process's event-channel poller thread, in
    /// place of completing <see cref="WaitAsync"/>: no thread hand-off per event, for a daemon whose reaction is a few
    /// non-blocking calls (xenconsoled's loop does its whole work there). The handler must be short and must not block
    /// or wait (every port of the process shares the thread); an exception it throws ends the handling (waits fail with
    /// it). Null goes back to <see cref="WaitAsync"/>.
    /// </summary>
    public void SetEventHandler(Action? handler) => Volatile.Write(ref _onEvent, handler);

    /// <summary>Called by the poller for each event of this port.</summary>
    internal void Deliver()
    {
        Action? handler = Volatile.Read(ref _onEvent);
        if (handler is null)
        {
            Signal.Set();
            return;
        }

        try
        {
            handler();
        }
#pragma warning disable CA1031 // the poller thread serves every port: the failure goes to this port's waiters
        catch (Exception e)
#pragma warning restore CA1031
        {
            Volatile.Write(ref _onEvent, null);
            Signal.Dispose(e);
        }
    }

    /// <summary>Notifies the peer (<c>xenevtchn_notify</c>). Never blocks.</summary>
    /// <exception cref="NotSupportedException">The port is a VIRQ: only the hypervisor raises it.</exception>
    /// <exception cref="XenHostException">The notify failed.</exception>
    /// <exception cref="ObjectDisposedException">The port or its handle was disposed.</exception>
    public void Notify()
    {
        if (Virq is uint virq)
        {
            throw new NotSupportedException($"VIRQ {virq} is raised by the hypervisor; it cannot be notified.");
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) != 0, this);
        _owner.Notify(LocalPort);
    }

    /// <inheritdoc/>
    public ValueTask WaitAsync(CancellationToken cancellationToken = default) => Signal.WaitAsync(cancellationToken);

    /// <summary>Unbinds the port; pending waits fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => Close(unbind: true);

    internal void Close(bool unbind)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        if (unbind)
        {
            _owner.Unbind(this);
        }

        Signal.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() =>
        Virq is uint virq ? $"evtchn port {LocalPort} (VIRQ {virq})"
        : RemotePort is uint remote ? $"evtchn port {LocalPort} (domain {RemoteDomainId} port {remote})"
        : $"evtchn port {LocalPort} (unbound, for domain {RemoteDomainId})";
}
