using Xen.Rings.Events;

namespace Xen.Consoled.Host;

/// <summary>
/// A console's event channel as the daemon uses it: notify the guest, and (<see cref="IEventHandlerSource"/>) a
/// handler run for each of the guest's events on the event-channel poller thread, no hand-off to another thread per
/// event, as xenconsoled's one loop does it.
/// </summary>
internal interface IConsoleChannel : IEventHandlerSource, IDisposable
{
    /// <summary>Notifies the guest.</summary>
    void Notify();
}
