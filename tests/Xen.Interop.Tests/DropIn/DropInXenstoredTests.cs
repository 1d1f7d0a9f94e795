using System.Text.RegularExpressions;
using Xen.Rings.Memory;
using Xen.Rings.Shim;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Transports;
using Xen.Store.Wire;
using Xen.TestSupport.Guests;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// <c>xen store serve</c> in C xenstored's place, started as a host starts it (<c>run_xenstored.sh ours</c>: under the
/// shim, <c>--no-fork --pid-file</c>, no socket option, no <c>--peer-dir</c>), so everything it serves it reached through
/// Xen's libraries and <c>/proc/xen</c>; where C xenstored can answer the same question it is the referee.
/// </summary>
[Trait("Category", "Interop")]
public sealed class DropInXenstoredTests
{
    [Fact]
    public async Task Xens_smoke_test_for_c_xenstored_passes_with_ours_started_the_same_way()
    {
        PeerPrograms.Require(requirePeersScripts: true, PeerPrograms.XenTool, "gcc", "/bin/bash");
        string directory = $"/tmp/xd-{Guid.NewGuid().ToString("N")[..8]}";
        try
        {
            PeerCommandResult result = await PeerCommand.RunAsync(
                Path.Combine(PeerPrograms.PeersDirectory, "smoke_real_xenstored.sh"),
                ["ours", directory],
                new Dictionary<string, string> { ["XENSTORED_OURS"] = $"dotnet {PeerPrograms.XenTool} store serve" });
            string output = result.StandardOutput + result.StandardError;
            Assert.True(result.ExitCode == 0, output);
            Assert.Contains("ALL OK (ours)", output, StringComparison.Ordinal);
            Assert.DoesNotContain("FAIL", output, StringComparison.Ordinal);
            Assert.Contains("ok: grep -q @releaseDomain", output, StringComparison.Ordinal); // a dead guest was released
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task Dom0s_kernel_connection_through_xsd_kva_and_xsd_port_is_served_as_a_privileged_ring(XenstoredKind kind)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(kind);
        await using XenStoreClient socket = await XenStoreClient.ConnectAsync(store.SocketPath);
        await socket.WriteAsync("/private/node", "guest five's");
        await socket.SetPermissionsAsync("/private/node", [XsPermission.Parse("n5")]);

        // The kernel's end: the page the daemon mapped as /proc/xen/xsd_kva, kicked on the port of /proc/xen/xsd_port.
        uint port = uint.Parse(await File.ReadAllTextAsync(Path.Combine(store.StateDirectory, "xsd_port")), System.Globalization.CultureInfo.InvariantCulture);
        using ShimGuestDomain kernel = ShimEventChannels.BindGuest(store.StateDirectory, 0);
        SharedPage page = SharedPage.MapFile(Path.Combine(store.StateDirectory, "xs-ring-0"));
        using IDisposable unmap = page;
        await using XenStoreClient dom0 = XenStoreClient.Create(new XenStoreRingTransport(page.Memory, kernel.OpenChannel(port), ownsChannel: true));

        await Deadline.RunAsync(
            async token =>
            {
                Assert.Equal("guest five's", await dom0.ReadStringAsync("/private/node", token)); // privileged: n5 does not stop dom0
                await dom0.WriteAsync("/kernel/said", "hello from dom0's kernel", token);
                Assert.Equal("/local/domain/0", await dom0.GetDomainPathAsync(0, token));
            },
            () => "nothing answered on dom0's kernel ring");
        Assert.Equal("hello from dom0's kernel", await socket.ReadStringAsync("/kernel/said"));
        Assert.Equal([XsPermission.Parse("n0")], await socket.GetPermissionsAsync("/kernel/said"));
    }

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task Introduce_of_a_guest_whose_page_cannot_be_mapped_answers_the_mapping_errno_and_other_connections_carry_on(XenstoredKind kind)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(kind);
        // Domain 7's grant ref 1 (the shim's xs-ring-7) and its frame 9 (pfn-7-9) are directories: neither maps.
        Directory.CreateDirectory(Path.Combine(store.StateDirectory, "xs-ring-7"));
        Directory.CreateDirectory(Path.Combine(store.StateDirectory, "pfn-7-9"));
        await using XenStoreClient dom0 = await XenStoreClient.ConnectAsync(store.SocketPath);

        var refused = await Assert.ThrowsAsync<XenStoreErrorException>(async () => await dom0.IntroduceAsync(7, 9, 3));
        Assert.Equal(XsError.EISDIR, refused.Error);
        Assert.False(await dom0.IsDomainIntroducedAsync(7));

        await using RingGuest guest = await RingGuest.IntroduceAsync(dom0, store.StateDirectory, 8, 9);
        await Deadline.RunAsync(token => guest.Client.WriteAsync("data/x", "eight", token).AsTask(), () => "guest 8 got no answer");
        Assert.Equal("eight", await dom0.ReadStringAsync("/local/domain/8/data/x"));
    }

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task A_second_introduce_rebinds_the_guests_channel_drops_its_watches_and_empties_its_ring(XenstoredKind kind)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(kind);
        using ShimGuestDomain domain = ShimEventChannels.BindGuest(store.StateDirectory, 7);
        string pagePath = Path.Combine(store.StateDirectory, "xs-ring-7");
        await File.WriteAllBytesAsync(pagePath, new byte[SharedPage.PageSize]);
        SharedPage page = SharedPage.MapFile(pagePath);
        using IDisposable unmap = page;
        await using XenStoreClient dom0 = await XenStoreClient.ConnectAsync(store.SocketPath);
        await dom0.MkdirAsync("/local/domain/7");
        await dom0.SetPermissionsAsync("/local/domain/7", [XsPermission.Parse("n7")]);
        await dom0.IntroduceAsync(7, 0, 9);

        await using (XenStoreClient before = XenStoreClient.Create(new XenStoreRingTransport(page.Memory, domain.OpenChannel(9), ownsChannel: true)))
        {
            XenStoreWatch watch = await Deadline.RunAsync(token => before.WatchAsync("data/w", "tok", cancellationToken: token).AsTask(), () => "guest 7 got no answer on port 9");
            await Deadline.RunAsync(token => watch.ReadAsync(token).AsTask(), () => "no initial event for guest 7's watch");
        }

        Assert.Equal(1, await WatchCountAsync(dom0, 7)); // closing the guest's client left its watch at the daemon
        Assert.NotEqual([0u, 0u, 0u, 0u], RingIndices(page));

        await dom0.IntroduceAsync(7, 0, 11); // the guest came back (resume, kexec) on port 11
        Assert.Equal(0, await WatchCountAsync(dom0, 7));
        await Deadline.PollAsync(() => RingIndices(page) is [0, 0, 0, 0], () => $"guest 7's ring indices are {string.Join(",", RingIndices(page))}");

        await using XenStoreClient after = XenStoreClient.Create(new XenStoreRingTransport(page.Memory, domain.OpenChannel(11), ownsChannel: true));
        await Deadline.RunAsync(token => after.WriteAsync("data/x", "back on 11", token).AsTask(), () => "guest 7 got no answer on port 11");
        Assert.Equal("back on 11", await dom0.ReadStringAsync("/local/domain/7/data/x"));
    }

    /// <summary>The watches the daemon counts for <paramref name="domainId"/> (<c>xenstore-control quota DOMID</c>, the same words in both).</summary>
    private static async Task<int> WatchCountAsync(XenStoreClient dom0, uint domainId)
    {
        string text = System.Text.Encoding.ASCII.GetString(await dom0.ControlAsync("quota", [domainId.ToString(System.Globalization.CultureInfo.InvariantCulture)]));
        return int.Parse(Regex.Match(text, @"watches\s+:\s+(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>req_cons, req_prod, rsp_cons, rsp_prod of the page (offsets 2048..2063 of xs_wire.h's interface).</summary>
    private static uint[] RingIndices(SharedPage page)
    {
        byte[] indices = page.Memory.Span.Slice(2048, 16).ToArray();
        return [.. Enumerable.Range(0, 4).Select(i => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(indices.AsSpan(i * 4)))];
    }

    [Fact]
    public async Task Ours_maps_a_guests_page_by_frame_number_when_its_grant_cannot_be_mapped()
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(XenstoredKind.Embedded);
        Directory.CreateDirectory(Path.Combine(store.StateDirectory, "xs-ring-6")); // grant ref 1 of domain 6 fails
        string frame = Path.Combine(store.StateDirectory, "pfn-6-33");
        await File.WriteAllBytesAsync(frame, new byte[SharedPage.PageSize]);
        using ShimGuestDomain domain = ShimEventChannels.BindGuest(store.StateDirectory, 6);
        SharedPage page = SharedPage.MapFile(frame);
        using IDisposable unmap = page;
        await using XenStoreClient dom0 = await XenStoreClient.ConnectAsync(store.SocketPath);
        await dom0.MkdirAsync("/local/domain/6");
        await dom0.SetPermissionsAsync("/local/domain/6", [XsPermission.Parse("n6")]);

        await dom0.IntroduceAsync(6, 33, 4);
        await using XenStoreClient guest = XenStoreClient.Create(new XenStoreRingTransport(page.Memory, domain.OpenChannel(4), ownsChannel: true));
        await Deadline.RunAsync(token => guest.WriteAsync("data/by-frame", "six", token).AsTask(), () => "nothing answered on the ring of pfn-6-33");

        Assert.Equal("six", await dom0.ReadStringAsync("/local/domain/6/data/by-frame"));
        Assert.Equal([XsPermission.Parse("n6")], await dom0.GetPermissionsAsync("/local/domain/6/data/by-frame"));
    }

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task The_trace_file_has_a_line_for_each_request_and_reply_in_c_xenstoreds_format(XenstoredKind kind)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(kind, traced: true);
        await store.WriteAsync("/traced/a", "1");
        Assert.Equal("1", await store.ReadAsync("/traced/a"));

        string[] lines = await File.ReadAllLinesAsync(store.TraceFilePath);
        const string Stamp = @"0x[0-9a-f]+ \d{8} \d{2}:\d{2}:\d{2}";
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"^IN {Stamp} WRITE \(/traced/a 1\)$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"^OUT {Stamp} WRITE \(OK \)$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"^IN {Stamp} READ \(/traced/a \)$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"^OUT {Stamp} READ \(1\)$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^CREATE connection 0x[0-9a-f]+$"));
        Assert.Equal(["", "***"], lines[..2]); // the mark C writes each time it (re)opens the file
    }
}
