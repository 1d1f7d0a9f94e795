using System.Globalization;
using Xen.Interop.Tests.Peers;
using Xen.Rings.Blkif;
using Xen.Rings.Events;
using Xen.Rings.Generic;
using Xen.Rings.Memory;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// QEMU's real xen-block backend (qemu-system-xen, <c>-M xenpv -xen-attach</c>, under the shim) with our embedded
/// xenstored as its xenstore, and a blkif frontend of ours as domain 5's disk driver: the xenbus handshake runs
/// through our store to Connected, and WRITE, READ and FLUSH over our <c>FrontRing</c> reach the disk image.
/// </summary>
/// <remarks>
/// Shim conventions: a page the guest grants with reference R is the file <c>gnt-&lt;domid&gt;-R</c>; QEMU kicks
/// the guest through <c>dom&lt;domid&gt;.evtchn</c> and is kicked on <c>port-&lt;domid&gt;-&lt;port&gt;</c> once it
/// has bound the channel the frontend advertised in <c>event-channel</c>.
/// </remarks>
[Trait("Category", "Interop")]
public class EmbeddedQemuBlockTests
{
    private const string Qemu = "/usr/libexec/xen-qemu-system-i386";
    private const uint DomainId = 5;
    private const int VirtualDevice = 51712; // xvda
    private const uint RingRef = 8;
    private const uint EventChannel = 20;
    private const uint XenstorePort = 7;
    private const int DiskBytes = 1 << 20;

    [Fact]
    public async Task Our_blkif_frontend_connects_to_qemus_xen_block_through_our_store_and_its_io_reaches_the_disk_image()
    {
        PeerPrograms.Require(requirePeersScripts: false, Qemu);
        await using var store = await EmbeddedStore.StartAsync();
        string dir = store.StateDirectory;
        string image = Path.Combine(dir, "disk.img");
        byte[] initial = Pattern(DiskBytes, seed: 11);
        await File.WriteAllBytesAsync(image, initial);

        PeerDaemon qemu = store.Peer.StartShimmed(Qemu,
        [
            "-M", "xenpv", "-xen-domid", DomainId.ToString(CultureInfo.InvariantCulture), "-xen-attach",
            "-nographic", "-display", "none", "-nodefaults",
            "-device", "xen-disk,vdev=xvda,drive=d0",
            "-drive", $"if=none,id=d0,file={image},format=raw",
        ]);
        string frontend = $"/local/domain/{DomainId}/device/vbd/{VirtualDevice}";
        string backend = $"/local/domain/0/backend/qdisk/{DomainId}/{VirtualDevice}";

        // The guest's own xenstore connection: our client over its xenstore ring, after the toolstack (dom0) has
        // given it a home and introduced it. Its blkif channel shares the guest's event-channel socket.
        using ShimGuestDomain domain = ShimEventChannels.BindGuest(dir, DomainId);
        await using (XenStoreClient dom0 = store.ConnectDom0())
        {
            await dom0.MkdirAsync($"/local/domain/{DomainId}");
            await dom0.SetPermissionsAsync($"/local/domain/{DomainId}", [XsPermission.Parse($"n{DomainId}")]);
        }

        await using RingGuest guestStore = await RingGuest.IntroduceAsync(store, domain, XenstorePort);
        XenStoreClient xs = guestStore.Client;

        // The backend announces itself through our store and waits for the frontend.
        await WaitForStateAsync(xs, $"{backend}/state", 2, qemu);
        Assert.Equal((DiskBytes / 512).ToString(CultureInfo.InvariantCulture), await xs.ReadStringAsync($"{backend}/sectors"));
        Assert.Equal("512", await xs.ReadStringAsync($"{backend}/sector-size"));
        Assert.Equal(frontend, await xs.ReadStringAsync($"{backend}/frontend"));

        using SharedPage ringPage = GrantPage(dir, RingRef);
        using var ring = FrontRing<BlkifRequest, BlkifResponse>.Initialize(ringPage.Memory);
        using IEventChannel channel = domain.OpenChannel(EventChannel);
        await xs.RunTransactionAsync<bool>(async (tx, token) =>
        {
            await tx.WriteAsync($"{frontend}/ring-ref", RingRef.ToString(CultureInfo.InvariantCulture), token);
            await tx.WriteAsync($"{frontend}/event-channel", EventChannel.ToString(CultureInfo.InvariantCulture), token);
            await tx.WriteAsync($"{frontend}/protocol", BlkifConstants.ProtocolX86_64, token);
            await tx.WriteAsync($"{frontend}/state", "3", token);
            return true;
        });

        await WaitForStateAsync(xs, $"{backend}/state", 4, qemu);
        await xs.WriteAsync($"{frontend}/state", "4");
        var io = new BlockIo(ring, channel, qemu);

        // READ of sectors nobody wrote: what the image holds.
        using SharedPage read0 = GrantPage(dir, 100);
        BlkifResponse r = await io.SubmitAsync(Request(BlkifOperation.Read, 1, sector: 2, (100, 0, 3)));
        Assert.Equal(new BlkifResponse(1, BlkifOperation.Read, BlkifStatus.Okay), r);
        Assert.Equal(initial.AsSpan(2 * 512, 4 * 512).ToArray(), read0.GetSpan()[..(4 * 512)].ToArray());

        // WRITE of 12 sectors from two granted pages (the second one partly), then READ them back into two others.
        using SharedPage w1 = GrantPage(dir, 101);
        using SharedPage w2 = GrantPage(dir, 102);
        byte[] data = Pattern(12 * 512, seed: 99);
        data.AsSpan(0, 4096).CopyTo(w1.GetSpan());
        data.AsSpan(4096).CopyTo(w2.GetSpan()[(2 * 512)..]);
        r = await io.SubmitAsync(Request(BlkifOperation.Write, 2, sector: 40, (101, 0, 7), (102, 2, 5)));
        Assert.Equal(new BlkifResponse(2, BlkifOperation.Write, BlkifStatus.Okay), r);

        using SharedPage r1 = GrantPage(dir, 103);
        using SharedPage r2 = GrantPage(dir, 104);
        r = await io.SubmitAsync(Request(BlkifOperation.Read, 3, sector: 40, (103, 0, 7), (104, 4, 7)));
        Assert.Equal(new BlkifResponse(3, BlkifOperation.Read, BlkifStatus.Okay), r);
        byte[] readBack = [.. r1.GetSpan()[..4096], .. r2.GetSpan()[(4 * 512)..]];
        Assert.Equal(data, readBack);

        r = await io.SubmitAsync(new BlkifRequest { Operation = BlkifOperation.FlushDiskCache, Id = 4 });
        Assert.Equal(new BlkifResponse(4, BlkifOperation.FlushDiskCache, BlkifStatus.Okay), r);

        // After the flush the image file holds the write, and nothing else changed.
        byte[] expected = (byte[])initial.Clone();
        data.CopyTo(expected, 40 * 512);
        Assert.Equal(expected, await File.ReadAllBytesAsync(image));
        Assert.Equal(backend, await xs.ReadStringAsync($"{frontend}/backend"));
        Assert.Equal("4", await xs.ReadStringAsync($"{backend}/state"));
        Assert.False(qemu.HasExited, qemu.Output);
    }

    private static BlkifRequest Request(BlkifOperation operation, ulong id, ulong sector, params (uint Gref, byte First, byte Last)[] segments)
    {
        var request = new BlkifRequest
        {
            Operation = operation,
            Id = id,
            SectorNumber = sector,
            SegmentCount = (byte)segments.Length,
        };
        for (int i = 0; i < segments.Length; i++)
        {
            request.Segments[i] = new BlkifRequestSegment(segments[i].Gref, segments[i].First, segments[i].Last);
        }

        return request;
    }

    private static SharedPage GrantPage(string directory, uint grantRef)
    {
        string path = Path.Combine(directory, $"gnt-{DomainId}-{grantRef}");
        File.WriteAllBytes(path, new byte[SharedPage.PageSize]);
        return SharedPage.MapFile(path);
    }

    private static byte[] Pattern(int byteCount, int seed)
    {
        byte[] bytes = new byte[byteCount];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// Reads a node the backend creates; null while it is missing or not yet readable by the guest (QEMU creates a
    /// node and then sets its permissions in two requests, so a guest may see it in between with dom0's).
    /// </summary>
    private static async Task<string?> TryReadVisibleAsync(XenStoreClient xs, string path, CancellationToken token)
    {
        try
        {
            return await xs.TryReadStringAsync(path, token);
        }
        catch (XenStoreErrorException e) when (e.Error == XsError.EACCES)
        {
            return null;
        }
    }

    /// <summary>Waits, on a watch of our store, until <paramref name="path"/> reads <paramref name="state"/>.</summary>
    private static Task WaitForStateAsync(XenStoreClient xs, string path, int state, PeerDaemon qemu)
    {
        string want = state.ToString(CultureInfo.InvariantCulture);
        string? last = null;
        return Deadline.RunAsync(
            async token =>
            {
                await using XenStoreWatch watch = await xs.WatchAsync(path, cancellationToken: token);
                while ((last = await TryReadVisibleAsync(xs, path, token)) != want)
                {
                    if (qemu.HasExited)
                    {
                        throw new InvalidOperationException($"QEMU exited while {path} was {last ?? "absent"}: {qemu.Output}");
                    }

                    await watch.ReadAsync(token);
                }
            },
            () => $"{path} did not become {want} (it is {last ?? "absent"}); QEMU: {qemu.Output}");
    }

    /// <summary>One request at a time over the front ring, waiting on the event channel for its response.</summary>
    private sealed class BlockIo(FrontRing<BlkifRequest, BlkifResponse> ring, IEventChannel channel, PeerDaemon qemu)
    {
        public Task<BlkifResponse> SubmitAsync(BlkifRequest request) =>
            Deadline.RunAsync(
                async token =>
                {
                    Assert.True(ring.TryProduceRequest(request));
                    if (ring.PushRequests())
                    {
                        channel.Notify();
                    }

                    while (true)
                    {
                        if (ring.TryConsumeResponse(out BlkifResponse response))
                        {
                            return response;
                        }

                        if (!ring.FinalCheckForResponses())
                        {
                            await channel.WaitAsync(token);
                        }
                    }
                },
                () => $"no response to {request.Operation} id {request.Id} (req_prod {ring.SharedRequestProducer}, rsp_cons {ring.ResponseConsumer}); QEMU: {qemu.Output}");
    }
}
