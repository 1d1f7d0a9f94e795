namespace Xen.Rings.Events;

/// <summary>
/// An event channel that can run a handler for each event on the thread that receives it, instead of completing
/// <see cref="IEventChannel.WaitAsync"/> (the host bindings' <see cref="Host.EventChannelPort"/>: the process's poller
/// thread). A <see cref="NotificationPump"/> made with <c>wakeOnEventThread</c> uses it to wake its roles without a
/// thread hand-off per event.
/// </summary>
public interface IEventHandlerSource
{
    /// <summary>Runs <paramref name="handler"/> for each event from now on (short, never blocking); null goes back to <see cref="IEventChannel.WaitAsync"/>.</summary>
    void SetEventHandler(Action? handler);
}
