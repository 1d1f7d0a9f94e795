using System.Globalization;
using Xen.Store.Client;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// The daemon started by the host's own init: Xen's <c>launch-xenstore</c> (what its systemd unit runs), with
/// <c>XENSTORED</c> in <c>xencommons</c> naming <c>packaging/xenstored</c> for ours and C xenstored for the referee. The
/// script is the installed one, its fixed paths (<c>/var/run/xen</c>, <c>/etc/default/xencommons</c>) moved into a
/// state directory; the daemon runs under the shim as <c>run_xenstored.sh</c> runs one.
/// </summary>
[Trait("Category", "Interop")]
public sealed class HostInitTests
{
    private const string LaunchXenstore = "/etc/xen/scripts/launch-xenstore";

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
            await File.WriteAllTextAsync(Path.Combine(directory, "xsd_port"), "1"); // dom0's kernel connection, as run_xenstored.sh
            await File.WriteAllBytesAsync(Path.Combine(directory, "xs-ring-0"), new byte[4096]);
            string xenstored = kind == XenstoredKind.C ? PeerPrograms.Xenstored : Path.Combine(AppContext.BaseDirectory, "packaging", "xenstored");
            string script = Path.Combine(directory, "launch-xenstore");
            await File.WriteAllTextAsync(script, (await File.ReadAllTextAsync(LaunchXenstore))
                .Replace("/var/run/xen", directory, StringComparison.Ordinal)
                .Replace("/etc/default/xencommons", Path.Combine(directory, "xencommons"), StringComparison.Ordinal));
            await File.WriteAllLinesAsync(Path.Combine(directory, "xencommons"), [
                $"XENSTORED={xenstored}",
                $"XENSTORED_MAX_OPEN_FDS={OpenFileHardLimit()}", // "unlimited" is nr_open, above what this container may raise to
            ]);
            launch = await PeerCommand.RunAsync("/bin/bash", [script], new Dictionary<string, string>
            {
                ["LD_PRELOAD"] = Path.Combine(directory, "xenstored_shim.so"),
                ["XENSHIM_DIR"] = directory,
                ["XENSTORED_RUNDIR"] = directory,
                ["XEN_TOOL"] = Path.Combine(AppContext.BaseDirectory, "xen"),
            });
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

    private static string OpenFileHardLimit()
    {
        // /proc/self/limits: "Max open files            1024                 20000                files"
        string line = File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        return line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
    }
}
