using System.Globalization;
using Xen.Rings.Console;
using Xen.Rings.Memory;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>
/// <c>xen console serve</c> started as an init script starts xenconsoled: without <c>-i</c> it returns once serving and
/// leaves a daemon in its pid file; and what it does to a Xen 4.21 guest's page (the <c>connection</c> byte).
/// </summary>
[Trait("Category", "Interop")]
public sealed class ConsoleServeCommandLineTests
{
    [Fact]
    public async Task Without_i_it_returns_once_serving_and_leaves_a_daemon_in_its_pid_file()
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync();
        // A guest for it to serve: the same set-up a foreground run gets.
        await XenconsoledPeer.CreateGuestAsync(store, new ConsoleGuestOptions());
        await File.WriteAllBytesAsync(Path.Combine(store.StateDirectory, "domains", "0"), []);
        string logs = Directory.CreateDirectory(Path.Combine(store.StateDirectory, "logs")).FullName;
        string pidFile = Path.Combine(store.StateDirectory, "xenconsoled.pid");
        var environment = new Dictionary<string, string>(store.ClientEnvironment)
        {
            ["LD_PRELOAD"] = store.ShimLibraryPath,
            ["XENSHIM_DIR"] = store.StateDirectory,
        };

        PeerCommandResult started = await PeerCommand.RunAsync("dotnet", [PeerPrograms.XenTool, "console", "serve", "--log=guest", $"--log-dir={logs}", $"--pid-file={pidFile}"], environment);
        Assert.True(started.ExitCode == 0, $"{started.StandardOutput} {started.StandardError}");
        int pid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture);
        try
        {
            Assert.True(Directory.Exists($"/proc/{pid}"), $"no process {pid} from the pid file");
            await Deadline.PollAsync(() => File.Exists(Path.Combine(logs, "guest-guest5.log")), () => $"the daemon {pid} did not take up domain 5");
            Assert.StartsWith("/dev/pts/", await store.ReadAsync("/local/domain/5/console/tty"), StringComparison.Ordinal);
        }
        finally
        {
            await PeerCommand.RunAsync("/bin/kill", [pid.ToString(CultureInfo.InvariantCulture)]);
        }

        await Deadline.PollAsync(() => !Directory.Exists($"/proc/{pid}"), () => $"the daemon {pid} did not stop on SIGTERM");
    }

    [Fact]
    public async Task Serving_a_console_sets_the_Xen_4_21_connection_byte_to_connected()
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync();
        await using XenconsoledPeer console = await XenconsoledPeer.StartAsync(store, new ConsoleGuestOptions
        {
            PreparePage = page => page[ConsoleLayout.ConnectionOffset] = ConsoleLayout.Disconnected, // the guest waits for a backend
        }, ConsoleDaemonKind.Ours);
        using SharedPage page = SharedPage.MapFile(console.RingPagePath);
        await Deadline.PollAsync(() => page.GetSpan()[ConsoleLayout.ConnectionOffset] == ConsoleLayout.Connected,
            () => $"the connection byte is still {page.GetSpan()[ConsoleLayout.ConnectionOffset]}; {console.Output}");
    }

    public static TheoryData<ConsoleDaemonKind> Daemons => new() { ConsoleDaemonKind.Xenconsoled, ConsoleDaemonKind.Ours };

    [Theory]
    [MemberData(nameof(Daemons))]
    public async Task When_xenstored_dies_the_consoles_already_served_keep_being_served(ConsoleDaemonKind daemon)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync();
        await using XenconsoledPeer console = await XenconsoledPeer.StartAsync(store, daemon: daemon);
        using ConsoleGuest guest = ConsoleGuest.Attach(console);
        await PeerCommand.RunAsync("/bin/kill", ["-KILL", store.DaemonProcessId.ToString(CultureInfo.InvariantCulture)]);
        await Deadline.PollAsync(() => !Directory.Exists($"/proc/{store.DaemonProcessId}"), () => "xenstored did not die");

        await guest.WriteAllAsync("still logged\n"u8.ToArray());
        Assert.Equal("still logged\n", System.Text.Encoding.ASCII.GetString(await console.WaitForLogAsync(13)));
        Assert.False(console.HasExited, console.Output);
    }
}
