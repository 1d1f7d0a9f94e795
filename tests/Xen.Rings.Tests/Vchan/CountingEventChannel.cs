using Xen.Rings.Events;

namespace Xen.Rings.Tests.Vchan;

/// <summary>An event channel that counts the notifications sent through it and passes everything on.</summary>
internal sealed class CountingEventChannel(IEventChannel inner) : IEventChannel
{
    private int _notifications;

    /// <summary>How many times <see cref="Notify"/> was called.</summary>
    public int Notifications => Volatile.Read(ref _notifications);

    public void Notify()
    {
        Interlocked.Increment(ref _notifications);
        inner.Notify();
    }

    public ValueTask WaitAsync(CancellationToken cancellationToken = default) => inner.WaitAsync(cancellationToken);

    public void Dispose() => inner.Dispose();
}
