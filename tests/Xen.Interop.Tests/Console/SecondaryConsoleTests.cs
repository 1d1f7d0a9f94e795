using System.Text;
using Xen.Rings.Console;
using Xen.Rings.Events;
using Xen.Rings.Memory;
using Xen.Store.Client;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>
/// A second PV console (<c>device/console/1</c>) served by our daemon as a xenbus back end, the way QEMU serves the
/// ones whose type is <c>ioemu</c>: the test is the toolstack (back end and front end nodes) and the guest's front end
/// (a granted page, a port, the state changes); Xen's <c>xenconsole --num 1</c> is the client.
/// </summary>
[Trait("Category", "Interop")]
public sealed class SecondaryConsoleTests
{
    private const string Backend = "/local/domain/0/backend/console/5/1";
    private const string Frontend = "/local/domain/5/device/console/1";
    private const uint GrantRef = 20;
    private const uint Port = 12;

    [Fact]
    public async Task A_second_console_goes_through_the_xenbus_handshake_and_xenconsole_num_1_talks_to_it()
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync();
        await using XenconsoledPeer console = await XenconsoledPeer.StartAsync(store, daemon: ConsoleDaemonKind.Ours);
        using ConsoleGuest guest = ConsoleGuest.Attach(console); // the guest's event channel socket, shared by its consoles
        await using XenStoreClient dom0 = await XenStoreClient.ConnectAsync(store.SocketPath);

        // The toolstack: both halves of the device, Initialising.
        await dom0.WriteAsync($"{Backend}/frontend", Frontend);
        await dom0.WriteAsync($"{Backend}/frontend-id", "5");
        await dom0.WriteAsync($"{Backend}/online", "1");
        await dom0.WriteAsync($"{Backend}/state", "1");
        await dom0.WriteAsync($"{Frontend}/backend", Backend);
        await dom0.WriteAsync($"{Frontend}/backend-id", "0");
        await dom0.WriteAsync($"{Frontend}/type", "xenconsoled");
        await dom0.WriteAsync($"{Frontend}/state", "1");
        await WaitForNodeAsync(dom0, $"{Backend}/state", "2", console); // InitWait

        // The guest's front end: grants a page, offers a port, says Initialised.
        string pagePath = Path.Combine(store.StateDirectory, $"gnt-5-{GrantRef}");
        await File.WriteAllBytesAsync(pagePath, new byte[4096]);
        using SharedPage page = SharedPage.MapFile(pagePath);
        using IEventChannel channel = guest.OpenChannel(Port);
        await dom0.WriteAsync($"{Frontend}/ring-ref", GrantRef.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await dom0.WriteAsync($"{Frontend}/port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await dom0.WriteAsync($"{Frontend}/state", "3");
        await WaitForNodeAsync(dom0, $"{Backend}/state", "4", console); // Connected
        string? tty = await dom0.TryReadStringAsync($"{Frontend}/tty");
        Assert.StartsWith("/dev/pts/", tty, StringComparison.Ordinal);
        Assert.NotEqual(await dom0.ReadStringAsync("/local/domain/5/console/tty"), tty);

        await using (XenconsoleSession client = XenconsoleSession.Start(store, 5, number: 1))
        {
            await client.WaitUntilShownAsync("second console", line =>
            {
                Assert.True(new ConsoleFrontend(page.GetSpan()).Write(Encoding.ASCII.GetBytes(line)) > 0, "the second console's out[] stayed full");
                channel.Notify();
                return Task.CompletedTask;
            }, () => console.Output);

            byte[] keys = "typed on console 1\r"u8.ToArray();
            await client.TypeAsync(keys);
            byte[] received = new byte[keys.Length];
            await Deadline.RunAsync(async token =>
            {
                int done = 0;
                while (done < received.Length)
                {
                    int n = new ConsoleFrontend(page.GetSpan()).Read(received.AsSpan(done));
                    done += n;
                    if (n == 0)
                    {
                        await channel.WaitAsync(token);
                    }
                }
            }, () => $"the keys did not reach the second console's in[]; daemon: {console.Output}");
            Assert.Equal(keys, received);
        }

        // The front end closes: the daemon lets the console go and says Closed.
        await dom0.WriteAsync($"{Frontend}/state", "5");
        await WaitForNodeAsync(dom0, $"{Backend}/state", "6", console);
        await Deadline.PollAsync(() => !File.Exists(Path.Combine(store.StateDirectory, $"port-5-{Port}")), () => $"the second console's channel is still bound; {console.Output}");
        Assert.False(console.HasExited, console.Output);
    }

    private static Task WaitForNodeAsync(XenStoreClient dom0, string path, string value, XenconsoledPeer console) =>
        Deadline.RunAsync(async token =>
        {
            while (await dom0.TryReadStringAsync(path, token) != value)
            {
                await Task.Delay(Deadline.PollInterval, token);
            }
        }, () => $"{path} never became {value}; daemon: {console.Output}");
}
