namespace Xen.Consoled.Host;

/// <summary>
/// A console's event channel as the daemon uses it: notify the guest, and a handler run for each of the guest's events
/// on the event-channel poller thread (no hand-off to another thread per event, as xenconsoled's one loop does it).
/// </summary>
internal interface IConsoleChannel : IDisposable
{
    /// <summary>Notifies the guest.</summary>
    void Notify();

    /// <summary>Sets what runs for each event (short, non-blocking).</summary>
    void SetEventHandler(Action handler);
}
