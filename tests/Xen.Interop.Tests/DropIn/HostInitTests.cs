using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Xen.Store.Client;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// The daemon started by the host's own init: Xen's <c>launch-xenstore</c> (what its systemd unit runs), with
/// <c>XENSTORED</c> in <c>xencommons</c> naming <c>packaging/xenstored</c> for ours and C xenstored for the referee, and
/// our <c>packaging/systemd/xenstored.service</c>. Fixed paths (<c>/var/run/xen</c>, <c>/etc/default/xencommons</c>) are
/// moved into a state directory; the daemon runs under the shim as <c>run_xenstored.sh</c> runs one.
/// </summary>
[Trait("Category", "Interop")]
public sealed class HostInitTests
{
    private const string LaunchXenstore = "/etc/xen/scripts/launch-xenstore";
    private const string SystemdAnalyze = "/usr/bin/systemd-analyze";

    private static string Packaged(params string[] path) => Path.Combine([AppContext.BaseDirectory, "packaging", .. path]);

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task Xens_launch_xenstore_starts_it_forked_with_its_pid_file_and_it_serves_once_the_script_returns(XenstoredKind kind)
    {
        PeerPrograms.Require(requirePeersScripts: true, LaunchXenstore, PeerPrograms.Xenstored, PeerPrograms.XenTool, "/bin/bash", "prlimit");
        int daemon = 0;
        PeerCommandResult? launch = null;
        await using XenstoredPeer peer = await XenstoredPeer.HostExternallyAsync(async (directory, socket) =>
        {
            await DaemonLaunch.PrepareKernelConnectionAsync(directory);
            string xenstored = kind == XenstoredKind.C ? PeerPrograms.Xenstored : Packaged("xenstored");
            string script = Path.Combine(directory, "launch-xenstore");
            await File.WriteAllTextAsync(script, (await File.ReadAllTextAsync(LaunchXenstore))
                .Replace("/var/run/xen", directory, StringComparison.Ordinal)
                .Replace("/etc/default/xencommons", Path.Combine(directory, "xencommons"), StringComparison.Ordinal));
            await File.WriteAllLinesAsync(Path.Combine(directory, "xencommons"), [
                $"XENSTORED={xenstored}",
                $"XENSTORED_MAX_OPEN_FDS={OpenFileHardLimit()}", // "unlimited" is nr_open, above what this container may raise to
            ]);
            Dictionary<string, string> environment = DaemonLaunch.Environment(directory);
            environment["XEN_TOOL"] = Path.Combine(AppContext.BaseDirectory, "xen");
            launch = await PeerCommand.RunAsync("/bin/bash", [script], environment);
            daemon = int.Parse((await File.ReadAllTextAsync(Path.Combine(directory, "xenstored.pid"))).Trim(), CultureInfo.InvariantCulture);
        });
        try
        {
            // The script runs the daemon in its foreground: that it returned at all, with the daemon alive, is the fork.
            Assert.True(launch!.ExitCode == 0, launch.StandardOutput + launch.StandardError);
            Assert.Contains("Starting ", launch.StandardOutput, StringComparison.Ordinal);
            string[] commandLine = (await File.ReadAllTextAsync($"/proc/{daemon}/cmdline")).Split('\0');
            Assert.Equal(kind == XenstoredKind.C, commandLine.Contains(PeerPrograms.Xenstored)); // the pid file's daemon is alive and the one named
            Assert.Equal(kind == XenstoredKind.Embedded, commandLine.Contains("serve"));

            await using XenStoreClient client = await XenStoreClient.ConnectAsync(peer.SocketPath);
            await client.WriteAsync("/local/domain/0/name", "Domain-0");
            Assert.Equal("Domain-0", await peer.ReadAsync("/local/domain/0/name")); // xenstore-read, as the init script's next steps
        }
        finally
        {
            if (daemon > 0 && File.Exists($"/proc/{daemon}/status"))
            {
                using var process = System.Diagnostics.Process.GetProcessById(daemon);
                process.Kill();
            }
        }
    }

    [Fact]
    public async Task The_systemd_unit_verifies_and_its_command_line_is_the_main_process_that_says_ready_once_serving()
    {
        PeerPrograms.Require(requirePeersScripts: true, SystemdAnalyze, PeerPrograms.XenTool, "gcc");
        string[] unit = await File.ReadAllLinesAsync(Packaged("systemd", "xenstored.service"));
        string[] execStart = unit.Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..].Split(' ');
        PeerDaemon? daemon = null;
        string? ready = null;
        await using XenstoredPeer peer = await XenstoredPeer.HostExternallyAsync(async (directory, socket) =>
        {
            // systemd's own check of the unit, with its program where this test has it and Xen's /proc/xen mount beside it.
            await File.WriteAllLinesAsync(Path.Combine(directory, "xenstored.service"), unit.Select(l => l.Replace(execStart[0], Packaged("xenstored"), StringComparison.Ordinal)));
            await File.WriteAllLinesAsync(Path.Combine(directory, "proc-xen.mount"), ["[Unit]", "Description=Mount /proc/xen files", "[Mount]", "What=xenfs", "Where=/proc/xen", "Type=xenfs"]);
            PeerCommandResult verify = await PeerCommand.RunAsync(SystemdAnalyze, ["verify", Path.Combine(directory, "proc-xen.mount"), Path.Combine(directory, "xenstored.service")]);
            Assert.True(verify.ExitCode == 0 && verify.StandardOutput + verify.StandardError == "", verify.StandardOutput + verify.StandardError);

            // ExecStart as systemd runs it: $XENSTORED_ARGS from the EnvironmentFile, NOTIFY_SOCKET for Type=notify.
            await DaemonLaunch.PrepareKernelConnectionAsync(directory);
            string[] xencommonsArgs = ["-T", Path.Combine(directory, "trace.log")];
            string[] arguments = [.. execStart.Skip(1).SelectMany(a => a == "$XENSTORED_ARGS" ? xencommonsArgs : [a.Replace("/var/run/xen", directory, StringComparison.Ordinal)])];
            string notify = Path.Combine(directory, "notify");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(notify));
            Dictionary<string, string> environment = DaemonLaunch.Environment(directory);
            environment["XEN_TOOL"] = Path.Combine(AppContext.BaseDirectory, "xen");
            environment["NOTIFY_SOCKET"] = notify;
            daemon = PeerDaemon.Start(Packaged("xenstored"), arguments, environment);
            byte[] buffer = new byte[256];
            int n = await Deadline.RunAsync(token => listener.ReceiveAsync(buffer, SocketFlags.None, token).AsTask(), () => $"no READY=1; it printed: {daemon.Output}");
            ready = Encoding.UTF8.GetString(buffer, 0, n);
        });
        using (daemon)
        {
            Assert.Equal("READY=1", ready);
            // NotifyAccess=main: the process systemd started (the wrapper execs the tool) is the daemon of the pid file.
            Assert.Equal(daemon!.ProcessId.ToString(CultureInfo.InvariantCulture), (await File.ReadAllTextAsync(Path.Combine(peer.StateDirectory, "xenstored.pid"))).Trim());
            await using XenStoreClient client = await XenStoreClient.ConnectAsync(peer.SocketPath);
            await client.WriteAsync("/unit", "up");
            Assert.Contains("WRITE (/unit up)", await File.ReadAllTextAsync(Path.Combine(peer.StateDirectory, "trace.log")), StringComparison.Ordinal); // XENSTORED_ARGS reached it
        }
    }

    private static string OpenFileHardLimit()
    {
        // /proc/self/limits: "Max open files            1024                 20000                files"
        string line = File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        return line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
    }
}
