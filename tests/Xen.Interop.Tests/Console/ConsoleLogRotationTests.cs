using System.Globalization;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>
/// logrotate's way with guest logs, on the real xenconsoled and on ours: the log is renamed, the daemon gets SIGHUP,
/// and it reopens <c>guest-NAME.log</c>, so what the guest prints next lands in the new file and nothing in the old one.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ConsoleLogRotationTests
{
    public static TheoryData<ConsoleDaemonKind> Daemons => new() { ConsoleDaemonKind.Xenconsoled, ConsoleDaemonKind.Ours };

    [Theory]
    [MemberData(nameof(Daemons))]
    public async Task Sighup_reopens_the_guest_log_after_it_was_renamed(ConsoleDaemonKind daemon)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync();
        await using XenconsoledPeer console = await XenconsoledPeer.StartAsync(store, daemon: daemon);
        using ConsoleGuest guest = ConsoleGuest.Attach(console);
        await guest.WriteAllAsync("before rotation\n"u8.ToArray());
        await console.WaitForLogAsync(16);

        string rotated = console.LogPath + ".1";
        File.Move(console.LogPath, rotated);
        await PeerCommand.RunCheckedAsync("/bin/kill", ["-HUP", console.DaemonProcessId.ToString(CultureInfo.InvariantCulture)]);
        await Deadline.PollAsync(() => File.Exists(console.LogPath), () => $"{daemon} did not reopen {console.LogPath} on SIGHUP; {console.Output}");

        await guest.WriteAllAsync("after rotation\n"u8.ToArray());
        Assert.Equal("after rotation\n", System.Text.Encoding.ASCII.GetString(await console.WaitForLogAsync(15)));
        Assert.Equal("before rotation\n", await File.ReadAllTextAsync(rotated));
        Assert.False(console.HasExited, console.Output);
    }
}
