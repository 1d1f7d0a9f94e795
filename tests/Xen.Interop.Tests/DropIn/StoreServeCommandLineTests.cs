using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Xen.Store.Client;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// The daemon's life as a host's init sees it: forking, the pid file, systemd readiness, C xenstored's options and its
/// answers to bad ones. C xenstored is the referee where it can start without a hypervisor or fails before needing one.
/// </summary>
[Trait("Category", "Interop")]
public sealed class StoreServeCommandLineTests
{
    private static readonly string[] Serve = [PeerPrograms.XenTool, "store", "serve"];

    [Fact]
    public async Task Without_no_fork_it_returns_once_serving_leaves_a_detached_daemon_in_its_pid_file_and_a_second_start_leaves_quietly()
    {
        PeerPrograms.Require(requirePeersScripts: true, PeerPrograms.XenTool, "gcc");
        PeerCommandResult? first = null;
        await using XenstoredPeer peer = await XenstoredPeer.HostExternallyAsync(async (directory, socket) =>
            first = await PeerCommand.RunAsync("dotnet", [.. Serve, "--pid-file", Path.Combine(directory, "xenstored.pid")], DaemonLaunch.Environment(directory)));
        string pidFile = Path.Combine(peer.StateDirectory, "xenstored.pid");
        int daemon = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture);
        try
        {
            Assert.Equal(0, first!.ExitCode);
            Assert.Equal($"xenstored listening on {peer.SocketPath}\n", first.StandardOutput);
            Assert.True(IsOurDaemon(daemon), $"pid {daemon} from the pid file is not a running xen store serve");
            Assert.Equal("0", GetSessionLeader(daemon)); // setsid(): its own session, so its pid leads it

            PeerCommandResult second = await PeerCommand.RunAsync("dotnet", [.. Serve, "--no-fork", "--pid-file", pidFile, "-D", "--socket", Path.Combine(peer.StateDirectory, "socket2")], DaemonLaunch.Environment(peer.StateDirectory));
            Assert.Equal(0, second.ExitCode);
            Assert.Equal("", second.StandardOutput + second.StandardError);
            Assert.Equal(daemon.ToString(CultureInfo.InvariantCulture), (await File.ReadAllTextAsync(pidFile)).Trim());

            await using XenStoreClient client = await XenStoreClient.ConnectAsync(peer.SocketPath);
            await client.WriteAsync("/forked", "still serving");
            Assert.Equal("still serving", await client.ReadStringAsync("/forked"));
        }
        finally
        {
            using var process = System.Diagnostics.Process.GetProcessById(daemon);
            process.Kill();
        }
    }

    [Fact]
    public async Task Systemd_is_told_ready_once_the_socket_accepts_connections()
    {
        string directory = ShortDirectory();
        try
        {
            string notify = Path.Combine(directory, "notify");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(notify));
            string socket = Path.Combine(directory, "socket");
            using PeerDaemon serve = PeerDaemon.Start("dotnet", [.. Serve, "--no-fork", "-D", "--socket", socket], new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify });

            byte[] buffer = new byte[256];
            int n = await Deadline.RunAsync(token => listener.ReceiveAsync(buffer, SocketFlags.None, token).AsTask(), () => $"no sd_notify datagram; it printed: {serve.Output}");
            Assert.Equal("READY=1", Encoding.UTF8.GetString(buffer, 0, n));
            await using XenStoreClient client = await XenStoreClient.ConnectAsync(socket); // ready meant ready
            Assert.Equal("", await client.ReadStringAsync("/tool"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Unknown_options_are_reported_in_getopts_words_and_the_daemon_starts_anyway()
    {
        string directory = ShortDirectory();
        try
        {
            string socket = Path.Combine(directory, "socket");
            using PeerDaemon serve = PeerDaemon.Start("dotnet", [.. Serve, "--no-fork", "--bogus", "-x", "-D", "--socket", socket], new Dictionary<string, string>());
            await Deadline.PollAsync(() => serve.Output.Contains("xenstored listening on", StringComparison.Ordinal) || serve.HasExited, () => serve.Output);
            Assert.False(serve.HasExited, serve.Output);
            Assert.Contains("xen store serve: unrecognized option '--bogus'", serve.Output, StringComparison.Ordinal);
            Assert.Contains("xen store serve: invalid option -- 'x'", serve.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("-Q", "foo=1", "unknown quota \"foo=1\"")]
    [InlineData("-Q", "memory", "quotas must be specified via <what>=<nb>")]
    [InlineData("--timeout", "age=5", "unknown timeout \"age=5\"")]
    [InlineData("-q", "outstanding=5", "unknown quota \"outstanding=5\"")]
    public async Task A_quota_or_timeout_c_xenstored_does_not_know_stops_both_daemons_with_status_1_and_the_same_words(string option, string value, string words)
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.Xenstored, PeerPrograms.XenTool);
        string directory = ShortDirectory();
        try
        {
            var environment = new Dictionary<string, string> { ["XENSTORED_RUNDIR"] = directory };
            PeerCommandResult c = await PeerCommand.RunAsync(PeerPrograms.Xenstored, ["--no-fork", option, value], environment);
            PeerCommandResult ours = await PeerCommand.RunAsync("dotnet", [.. Serve, "--no-fork", option, value], environment);

            Assert.Equal((1, true), (c.ExitCode, (c.StandardOutput + c.StandardError).Contains(words, StringComparison.Ordinal)));
            Assert.Equal((1, true), (ours.ExitCode, ours.StandardError.Contains(words, StringComparison.Ordinal)));
            Assert.False(File.Exists(Path.Combine(directory, "socket")), "ours listened although its options were refused");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Without_a_hypervisor_and_without_socket_it_fails_as_c_xenstored_does()
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.Xenstored, PeerPrograms.XenTool);
        string directory = ShortDirectory();
        try
        {
            var environment = new Dictionary<string, string> { ["XENSTORED_RUNDIR"] = directory };
            PeerCommandResult c = await PeerCommand.RunAsync(PeerPrograms.Xenstored, ["--no-fork"], environment);
            PeerCommandResult ours = await PeerCommand.RunAsync("dotnet", [.. Serve, "--no-fork"], environment);

            Assert.Equal(1, c.ExitCode);
            Assert.Contains("FATAL: Failed to open connection to hypervisor", c.StandardError, StringComparison.Ordinal);
            Assert.Equal(1, ours.ExitCode);
            Assert.Contains("FATAL: Failed to open connection to hypervisor", ours.StandardError, StringComparison.Ordinal);
            Assert.Equal("", ours.StandardOutput);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static bool IsOurDaemon(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Contains(PeerPrograms.XenTool);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The session id of <paramref name="pid"/> minus its pid (0 when it leads its own session).</summary>
    private static string GetSessionLeader(int pid) =>
        (int.Parse(ProcessStat.Fields(pid)[3], CultureInfo.InvariantCulture) - pid).ToString(CultureInfo.InvariantCulture);

    private static string ShortDirectory()
    {
        string path = $"/tmp/xc-{Guid.NewGuid().ToString("N")[..8]}";
        Directory.CreateDirectory(path);
        return path;
    }
}
