using Xen.Rings.Events;
using Xen.Rings.Shim;

namespace Xen.Rings.Tests;

public class EventChannelTests
{
    [Fact]
    public async Task A_notification_before_the_wait_is_kept_and_several_coalesce_into_one()
    {
        var (a, b) = InProcessEventChannel.CreatePair();
        a.Notify();
        a.Notify();
        Assert.True(b.WaitAsync().AsTask().IsCompleted);
        Task second = b.WaitAsync().AsTask();
        Assert.False(second.IsCompleted);
        a.Notify();
        await second.WaitAsync(TimeSpan.FromSeconds(60));
        a.Dispose();
        b.Dispose();
    }

    [Fact]
    public async Task Disposing_an_end_fails_its_pending_wait()
    {
        var (a, b) = InProcessEventChannel.CreatePair();
        ValueTask wait = b.WaitAsync();
        b.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => wait.AsTask());
        a.Dispose();
    }

    [Fact]
    public async Task Shim_datagram_channels_carry_kicks_and_notifications_between_a_guest_and_a_backend()
    {
        string dir = Directory.CreateTempSubdirectory("xr").FullName;
        try
        {
            using IEventChannel backend = ShimEventChannels.BindBackend(dir, 5, 7);
            using ShimGuestDomain domain = ShimEventChannels.BindGuest(dir, 5);
            using IEventChannel guest = domain.OpenChannel(7);
            using IEventChannel otherPort = domain.OpenChannel(9);
            Assert.True(File.Exists(Path.Combine(dir, "port-5-7")));
            Assert.True(File.Exists(Path.Combine(dir, "dom5.evtchn")));

            guest.Notify();
            await backend.WaitAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            backend.Notify();
            await guest.WaitAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.False(otherPort.WaitAsync().AsTask().IsCompleted); // routed by port: port 9 heard nothing
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_bound_virq_wakes_when_the_hypervisor_raises_it_and_cannot_notify()
    {
        string dir = Directory.CreateTempSubdirectory("xr").FullName;
        try
        {
            using IEventChannel virq = ShimEventChannels.BindVirq(dir, ShimEventChannels.VirqDomainException);
            Assert.True(File.Exists(Path.Combine(dir, "virq-3")));
            Assert.Throws<NotSupportedException>(virq.Notify);

            ShimEventChannels.RaiseVirq(dir, 3);
            await virq.WaitAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 3, 0, 0, 0 }, true)]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 4, 0, 0, 0 }, false)]    // another VIRQ
    [InlineData(new byte[] { 5, 0, 0, 0, 3, 0, 0, 0 }, false)]                // a guest's kick of port 3
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 3, 0, 0, 0, 0 }, false)] // not 8 bytes
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }, false)]
    public void Only_the_exact_virq_datagram_raises_the_virq(byte[] message, bool raises) =>
        Assert.Equal(raises, ShimEventChannels.IsVirqMessage(message, 3));

    [Fact]
    public void Raising_a_virq_nobody_bound_fails()
    {
        string dir = Directory.CreateTempSubdirectory("xr").FullName;
        try
        {
            Assert.ThrowsAny<System.Net.Sockets.SocketException>(() => ShimEventChannels.RaiseVirq(dir, 3));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Notifying_a_backend_that_is_not_listening_is_silently_lost()
    {
        string dir = Directory.CreateTempSubdirectory("xr").FullName;
        try
        {
            using ShimGuestDomain domain = ShimEventChannels.BindGuest(dir, 3);
            using IEventChannel guest = domain.OpenChannel(1);
            guest.Notify();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_state_directory_too_long_for_a_unix_socket_is_an_argument_error()
    {
        string dir = "/tmp/" + new string('d', 120);
        Assert.Throws<ArgumentException>(() => ShimEventChannels.BindGuest(dir, 1));
    }
}
