using System.Text;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>
/// Output that nobody reads from the pty, with the console's <c>limit</c> node set, on the real xenconsoled and on ours:
/// under <c>--overflow-data=discard</c> (the default) the guest is never held back, its log has everything, and the pty
/// later gives the start and the newest output but not all of it; under <c>keep</c> nothing is lost on the pty either.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ConsoleOverflowTests
{
    private const int Limit = 8192;

    public static TheoryData<ConsoleDaemonKind> Daemons => new() { ConsoleDaemonKind.Xenconsoled, ConsoleDaemonKind.Ours };

    [Theory]
    [MemberData(nameof(Daemons))]
    public async Task Discard_keeps_the_guest_going_and_the_log_whole_and_drops_the_middle_of_what_the_pty_holds(ConsoleDaemonKind daemon)
    {
        byte[] output = Lines(256 * 1024);
        await using XenstoredPeer store = await XenstoredPeer.StartAsync();
        await store.WriteAsync("/local/domain/5/console/limit", Limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await using XenconsoledPeer console = await XenconsoledPeer.StartAsync(store, daemon: daemon);
        using ConsoleGuest guest = ConsoleGuest.Attach(console);

        await guest.WriteAllAsync(output); // nobody reads the pty: this completes only if the daemon keeps taking output
        await guest.WaitUntilOutputConsumedAsync();
        Assert.Equal(output.Length, (await console.WaitForLogAsync(output.Length)).Length);

        await using FileStream tty = await console.OpenTtyAsync();
        byte[] shown = await ReadUntilAsync(tty, "END\n"u8.ToArray());
        Assert.True(shown.Length < output.Length, $"the pty gave {shown.Length} of {output.Length} bytes: nothing was dropped");
        Assert.True(output.AsSpan(0, 64).SequenceEqual(shown.AsSpan(0, 64)), "the pty's output does not start with the guest's first bytes");
    }

    [Theory]
    [MemberData(nameof(Daemons))]
    public async Task Keep_loses_nothing_on_the_pty(ConsoleDaemonKind daemon)
    {
        byte[] output = Lines(256 * 1024);
        await using XenstoredPeer store = await XenstoredPeer.StartAsync();
        await store.WriteAsync("/local/domain/5/console/limit", Limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await using XenconsoledPeer console = await XenconsoledPeer.StartAsync(store, daemon: daemon, daemonOptions: ["-o", "keep"]);
        using ConsoleGuest guest = ConsoleGuest.Attach(console);
        await using FileStream tty = await console.OpenTtyAsync();

        Task writing = guest.WriteAllAsync(output); // held back whenever the limit waits unread
        byte[] shown = await ReadUntilAsync(tty, "END\n"u8.ToArray());
        await writing;
        Assert.Equal(Encoding.ASCII.GetString(output), Encoding.ASCII.GetString(shown));
    }

    private static async Task<byte[]> ReadUntilAsync(FileStream tty, byte[] end)
    {
        var all = new MemoryStream();
        byte[] buffer = new byte[16384];
        await Deadline.RunAsync(async token =>
        {
            while (!all.GetBuffer().AsSpan(0, (int)all.Length).EndsWith(end))
            {
                int n = await tty.ReadAsync(buffer, token);
                all.Write(buffer, 0, n);
            }
        }, () => $"the pty gave {all.Length} bytes without the last line");
        return all.ToArray();
    }

    private static byte[] Lines(int minimumBytes)
    {
        var text = new StringBuilder();
        for (int i = 0; text.Length < minimumBytes; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"line {i:D6} of console output\n");
        }

        return Encoding.ASCII.GetBytes(text.Append("END\n").ToString());
    }
}
