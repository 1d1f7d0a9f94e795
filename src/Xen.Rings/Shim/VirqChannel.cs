using Xen.Rings.Events;

namespace Xen.Rings.Shim;

/// <summary>
/// A bound virtual IRQ: waits complete when the stand-in hypervisor raises it. Nobody can be notified through it,
/// as in Xen, where a VIRQ's port only receives.
/// </summary>
internal sealed class VirqChannel : IEventChannel
{
    private readonly DatagramInbox _inbox;
    private readonly AsyncSignal _signal;
    private readonly uint _virq;

    public VirqChannel(DatagramInbox inbox, uint virq)
    {
        _inbox = inbox;
        _virq = virq;
        _signal = inbox.Subscribe(0);
    }

    public void Notify() =>
        throw new NotSupportedException($"VIRQ {_virq} is raised by the hypervisor; its channel only receives.");

    public ValueTask WaitAsync(CancellationToken cancellationToken = default) => _signal.WaitAsync(cancellationToken);

    public void Dispose() => _inbox.Dispose();
}
