using System.Globalization;
using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// What <c>xen store serve</c> says on standard error while real clients use it: the C guest built from
/// <c>xs_wire.h</c> (<c>tests/native/xs_guest.c</c>) on its ring runs into its node quota, and Xen's
/// <c>xenstore-write</c> comes and goes on the socket. The refusal is a warning naming the domain and the quota, always;
/// the domain and connection lines only with <c>-V</c>.
/// </summary>
[Trait("Category", "Interop")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ServerLogTests
{
    private const uint DomainId = 7;
    private const uint Port = 9;
    private const int NodeQuota = 40;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_guest_refused_for_its_node_quota_is_named_and_with_V_every_domain_and_connection_too(bool verbose)
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.XenTool, PeerPrograms.XenstoreWrite);
        string dir = $"/tmp/xv-{Guid.NewGuid().ToString("N")[..8]}";
        string peers = Path.Combine(dir, "peers");
        Directory.CreateDirectory(peers);
        string socket = Path.Combine(dir, "socket");
        try
        {
            using PeerDaemon server = await StoreServeProcess.StartAsync(
                ["--socket", socket, "--peer-dir", peers, "-E", NodeQuota.ToString(CultureInfo.InvariantCulture), .. verbose ? new[] { "-V" } : []]);
            string home = XsPath.DomainPath(DomainId);
            await using (XenStoreClient dom0 = await XenStoreClient.ConnectAsync(socket))
            {
                await PeerDirGuest.PrepareAsync(dom0, DomainId);
                await File.WriteAllBytesAsync(Path.Combine(peers, $"xs-ring-{DomainId}"), new byte[4096]);
                await dom0.IntroduceAsync(DomainId, 0, Port);
            }

            using PeerDaemon guest = await PeerDirGuest.StartAsync(peers, DomainId, Port);
            await Deadline.PollAsync(() => guest.Output.Contains("watching\n", StringComparison.Ordinal) || guest.HasExited, () => $"the guest did not get to its watch:\n{guest.Output}");
            PeerCommandResult write = await PeerCommand.RunAsync(PeerPrograms.XenstoreWrite, [$"{home}/data/w/go", "1"], new Dictionary<string, string> { ["XENSTORED_PATH"] = socket });
            Assert.Equal(0, write.ExitCode);
            await Deadline.PollAsync(() => guest.HasExited, () => $"the guest did not finish:\n{guest.Output}\nthe server:\n{server.Output}");
            Assert.Contains("quota ", guest.Output, StringComparison.Ordinal);
            Assert.Contains(" ENOSPC\n", guest.Output, StringComparison.Ordinal);

            string refusal = $"xen store serve: Domain {DomainId} refused: quota nodes ({NodeQuota}) reached by WRITE";
            await Deadline.PollAsync(() => server.Output.Contains(refusal, StringComparison.Ordinal), () => $"no \"{refusal}\" in:\n{server.Output}");
            bool introduced = server.Output.Contains($"xen store serve: Domain {DomainId} introduced (gfn 0, port {Port})", StringComparison.Ordinal);
            bool connections = server.Output.Contains($"(unix:{socket}, domain 0) closed", StringComparison.Ordinal);
            Assert.True(introduced == verbose && connections == verbose, $"-V {verbose}, but the lines of domains {introduced} and connections {connections}:\n{server.Output}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
