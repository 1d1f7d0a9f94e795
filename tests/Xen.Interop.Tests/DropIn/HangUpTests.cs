using System.Globalization;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;
using Xen.TestSupport.Store;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// <c>xen store serve -T FILE</c> and log rotation: the trace is renamed, the daemon gets SIGHUP and opens FILE again,
/// also when it was started with SIGHUP ignored (<c>nohup</c>, as a shell or an init script may start it; C xenstored
/// installs its handler whatever it inherited, and so must ours).
/// </summary>
[Trait("Category", "Interop")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HangUpTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sighup_reopens_the_trace_file_even_when_started_with_sighup_ignored(bool underNohup)
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.XenTool, "nohup");
        string directory = $"/tmp/xh-{Guid.NewGuid().ToString("N")[..8]}";
        Directory.CreateDirectory(directory);
        string socket = Path.Combine(directory, "socket");
        string trace = Path.Combine(directory, "trace");
        try
        {
            using PeerDaemon server = await StoreServeProcess.StartAsync(["--socket", socket, "-T", trace], hangUpIgnored: underNohup);
            using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            using var client = await RawStoreSocket.ConnectAsync(socket, guard.Token);
            Assert.Equal("OK", await RawStoreSocket.CallAsync(client, XsMessageType.Write, "/before\0x", guard.Token));

            File.Move(trace, trace + ".1");
            await PeerCommand.RunCheckedAsync("/bin/kill", ["-HUP", server.ProcessId.ToString(CultureInfo.InvariantCulture)]);
            await Deadline.PollAsync(() => File.Exists(trace), () => $"the trace was not reopened on SIGHUP: {server.Output}");
            Assert.Equal("OK", await RawStoreSocket.CallAsync(client, XsMessageType.Write, "/after\0x", guard.Token));
            await Deadline.PollAsync(
                () => File.ReadAllText(trace).Contains("/after", StringComparison.Ordinal),
                () => $"the reopened trace has no request: {File.ReadAllText(trace)}");
            Assert.DoesNotContain("/after", await File.ReadAllTextAsync(trace + ".1"), StringComparison.Ordinal);
            Assert.False(server.HasExited, server.Output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
