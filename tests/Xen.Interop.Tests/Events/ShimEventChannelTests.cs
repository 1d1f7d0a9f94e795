using Xen.Rings.Events;
using Xen.Rings.Shim;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Events;

/// <summary>
/// The lifetime rules of the shim's guest channels, which several channels share one bound socket for. These need
/// no real program: the back end is <see cref="ShimEventChannels.BindBackend"/>.
/// </summary>
public sealed class ShimEventChannelTests : IDisposable
{
    private const uint DomainId = 5;
    // Short and under /tmp whatever TMPDIR says: socket paths must fit in 108 bytes.
    private readonly string _directory = Directory.CreateDirectory($"/tmp/xe-{Guid.NewGuid():N}"[..16]).FullName;

    [Fact]
    public async Task Disposing_a_guest_channel_fails_its_pending_wait_and_leaves_other_channels_working()
    {
        using ShimGuestDomain domain = ShimEventChannels.BindGuest(_directory, DomainId);
        IEventChannel closing = domain.OpenChannel(8);
        using IEventChannel other = domain.OpenChannel(9);
        using IEventChannel otherBackend = ShimEventChannels.BindBackend(_directory, DomainId, 9);

        ValueTask pending = closing.WaitAsync();
        closing.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Deadline.RunAsync(
            token => pending.AsTask().WaitAsync(token),
            () => "the wait on a disposed channel did not end"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => closing.WaitAsync().AsTask());

        otherBackend.Notify();
        await Deadline.RunAsync(token => other.WaitAsync(token).AsTask(), () => "port 9's notification did not arrive");
    }

    [Fact]
    public async Task A_port_reopened_after_its_channel_was_disposed_receives_notifications()
    {
        using ShimGuestDomain domain = ShimEventChannels.BindGuest(_directory, DomainId);
        using IEventChannel backend = ShimEventChannels.BindBackend(_directory, DomainId, 8);
        domain.OpenChannel(8).Dispose();

        using IEventChannel reopened = domain.OpenChannel(8);
        backend.Notify();
        await Deadline.RunAsync(token => reopened.WaitAsync(token).AsTask(), () => "the reopened channel was not notified");
    }

    [Fact]
    public async Task A_notification_that_arrives_before_its_channel_is_opened_is_pending_for_it()
    {
        using ShimGuestDomain domain = ShimEventChannels.BindGuest(_directory, DomainId);
        using IEventChannel marker = domain.OpenChannel(9);
        using IEventChannel backend = ShimEventChannels.BindBackend(_directory, DomainId, 8);
        using IEventChannel markerBackend = ShimEventChannels.BindBackend(_directory, DomainId, 9);

        backend.Notify();
        markerBackend.Notify();
        await Deadline.RunAsync(token => marker.WaitAsync(token).AsTask(), () => "the marker notification did not arrive");

        // Datagrams are handled in order, so port 8's has been handled before any channel listened on it.
        using IEventChannel late = domain.OpenChannel(8);
        Task wait = late.WaitAsync().AsTask();
        Assert.True(wait.IsCompletedSuccessfully, "the notification sent before the channel was opened was lost");
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
