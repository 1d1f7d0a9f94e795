using System.Globalization;
using System.Text;
using Xen.Rings.Events;
using Xen.Rings.Shim;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>Our shim event channels against the real xenconsoled, in both directions.</summary>
[Trait("Category", "Interop")]
public class XenconsoledEventChannelTests
{
    /// <summary>The daemon under test: the real xenconsoled here, ours in the derived class.</summary>
    protected virtual ConsoleDaemonKind Daemon => ConsoleDaemonKind.Xenconsoled;

    [Fact]
    public async Task Our_notification_wakes_xenconsoled_and_its_notification_wakes_our_wait()
    {
        await using var store = await XenstoredPeer.StartAsync();
        await using var console = await XenconsoledPeer.StartAsync(store, daemon: Daemon);
        using var guest = ConsoleGuest.Attach(console);

        var expected = new StringBuilder();
        for (int round = 0; round < 5; round++)
        {
            byte[] line = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"round {round}\n"));
            await guest.WriteAllAsync(line);
            expected.Append(Encoding.ASCII.GetString(line));

            // xenconsoled only reads out[] when kicked, and notifies after it has moved out_cons.
            await Deadline.RunAsync(
                async token =>
                {
                    do
                    {
                        await guest.Channel.WaitAsync(token);
                    }
                    while (guest.OutCons != guest.OutProd);
                },
                () => $"round {round}: no notification from xenconsoled with out[] consumed: {guest.Describe()}");
        }

        byte[] log = await console.WaitForLogAsync(expected.Length);
        Assert.Equal(expected.ToString(), Encoding.ASCII.GetString(log));
    }

    [Fact]
    public async Task A_cancelled_wait_does_not_swallow_the_next_notification_from_xenconsoled()
    {
        await using var store = await XenstoredPeer.StartAsync();
        await using var console = await XenconsoledPeer.StartAsync(store, daemon: Daemon);
        using var guest = ConsoleGuest.Attach(console);

        // A second channel of the same guest, notified through the same socket, marks how far the guest's
        // notifications have been handled: they are handled in the order they arrive.
        const uint MarkerPort = 9;
        using IEventChannel marker = guest.OpenChannel(MarkerPort);
        using IEventChannel markerSender = ShimEventChannels.BindBackend(console.StateDirectory, console.DomainId, MarkerPort);

        using (var giveUp = new CancellationTokenSource())
        {
            ValueTask abandoned = guest.Channel.WaitAsync(giveUp.Token);
            await giveUp.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await abandoned);
        }

        byte[] text = "after a cancelled wait\n"u8.ToArray();
        await guest.WriteAllAsync(text);

        // xenconsoled notifies before it writes the log, so its notification is queued before the marker's.
        await console.WaitForLogAsync(text.Length);
        markerSender.Notify();
        await Deadline.RunAsync(token => marker.WaitAsync(token).AsTask(), () => "the marker notification did not arrive");

        await Deadline.RunAsync(
            token => guest.Channel.WaitAsync(token).AsTask(),
            () => $"xenconsoled's notification, handled before the marker, did not complete the next wait: {guest.Describe()}");
        Assert.Equal(guest.OutProd, guest.OutCons);
    }
}
