using System.Buffers.Binary;
using Xen.Rings.XenStore;
using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// Xen 4.21's INTRODUCE rules for the ring page, against <c>xen store serve</c> with the C guest built from
/// <c>xs_wire.h</c> (<c>tests/native/xs_guest.c</c>) on its ring: a non-zero <c>evtchn_port</c> the domain's builder left
/// on the page (offset 2076) is the port the server binds, whatever INTRODUCE says, and the page's
/// <c>server_features</c> are the domain's as SET_FEATURE left them before INTRODUCE.
/// </summary>
[Trait("Category", "Interop")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class IntroduceFromPageTests
{
    private const uint DomainId = 7;
    private const uint IntroducedPort = 9;
    private const uint PagePort = 12;

    [Fact]
    public async Task The_pages_evtchn_port_wins_over_introduces_and_its_features_are_the_domains()
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.XenTool);
        string dir = $"/tmp/xp-{Guid.NewGuid().ToString("N")[..8]}";
        string peers = Path.Combine(dir, "peers");
        Directory.CreateDirectory(peers);
        string socket = Path.Combine(dir, "socket");
        try
        {
            using PeerDaemon server = await StoreServeProcess.StartAsync(["--socket", socket, "--peer-dir", peers]);
            string pagePath = Path.Combine(peers, $"xs-ring-{DomainId}");
            byte[] page = new byte[4096];
            BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(XenStoreRingLayout.EvtchnPortOffset), PagePort);
            await File.WriteAllBytesAsync(pagePath, page);
            await using (XenStoreClient dom0 = await XenStoreClient.ConnectAsync(socket))
            {
                string home = XsPath.DomainPath(DomainId);
                await PeerDirGuest.PrepareAsync(dom0, DomainId);
                await dom0.SetFeatureAsync(DomainId, (uint)XenStoreServerFeatures.Error);
                await dom0.IntroduceAsync(DomainId, 0, IntroducedPort);

                Assert.Equal(XenStoreServerFeatures.Error, new XenStoreGuestRing(await File.ReadAllBytesAsync(pagePath)).ServerFeatures);

                // The guest kicks and listens on the page's port only: it is served only if the server bound that one.
                using PeerDaemon guest = await PeerDirGuest.StartAsync(peers, DomainId, PagePort);
                await Deadline.PollAsync(() => guest.Output.Contains("watching\n", StringComparison.Ordinal) || guest.HasExited, () => $"the guest was not served on port {PagePort}:\n{guest.Output}\nthe server:\n{server.Output}");
                Assert.Contains($"path {XsPath.DomainPath(DomainId)}\n", guest.Output, StringComparison.Ordinal);
                await dom0.WriteAsync($"{home}/data/w/go", "1");
                await Deadline.PollAsync(() => guest.HasExited, () => $"the guest did not finish:\n{guest.Output}");
                Assert.EndsWith("[xs_guest exited with status 0]", guest.Output.TrimEnd(), StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
