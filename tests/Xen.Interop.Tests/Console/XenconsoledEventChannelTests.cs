using System.Globalization;
using System.Text;
using Xen.Interop.Tests.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>Our shim event channels against the real xenconsoled, in both directions.</summary>
[Trait("Category", "Interop")]
public class XenconsoledEventChannelTests
{
    [Fact]
    public async Task Our_notification_wakes_xenconsoled_and_its_notification_wakes_our_wait()
    {
        await using var store = await XenstoredPeer.StartAsync();
        await using var console = await XenconsoledPeer.StartAsync(store);
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
}
