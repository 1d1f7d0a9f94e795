using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Xen.Rings.Blkif;
using Xen.Rings.Events;
using Xen.Rings.Memory;
using Xen.Rings.SharedRing;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Guests;
using Xen.TestSupport.Peers;

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
    private const string QemuProgram = "/usr/libexec/xen-qemu-system-i386";
    private const uint DomainId = 5;
    private const int VirtualDevice = 51712; // xvda
    private const uint RingRef = 8;
    private const uint EventChannel = 20;
    private const uint XenStorePort = 7;
    private const int DiskBytes = 1 << 20;
    private const int WrapDiskBytes = 4 << 20; // 32 regions of 256 sectors: one per ring slot

    [Fact]
    public async Task Our_blkif_frontend_connects_to_qemus_xen_block_through_our_store_and_its_io_reaches_the_disk_image()
    {
        byte[] initial = Pattern(DiskBytes, seed: 11);
        await using QemuDisk disk = await QemuDisk.ConnectAsync(initial);
        XenStoreClient xs = disk.XenStore;

        // What the backend announced through our store before the frontend connected.
        Assert.Equal((DiskBytes / 512).ToString(CultureInfo.InvariantCulture), await xs.ReadStringAsync($"{disk.Backend}/sectors"));
        Assert.Equal("512", await xs.ReadStringAsync($"{disk.Backend}/sector-size"));
        Assert.Equal(disk.Frontend, await xs.ReadStringAsync($"{disk.Backend}/frontend"));

        // READ of sectors nobody wrote: what the image holds.
        using SharedPage read0 = disk.GrantPage(100);
        BlkifResponse r = await disk.SubmitAsync(Request(BlkifOperation.Read, 1, sector: 2, (100, 0, 3)));
        Assert.Equal(new BlkifResponse(1, BlkifOperation.Read, BlkifStatus.Okay), r);
        Assert.Equal(initial.AsSpan(2 * 512, 4 * 512).ToArray(), read0.GetSpan()[..(4 * 512)].ToArray());

        // WRITE of 12 sectors from two granted pages (the second one partly), then READ them back into two others.
        using SharedPage w1 = disk.GrantPage(101);
        using SharedPage w2 = disk.GrantPage(102);
        byte[] data = Pattern(12 * 512, seed: 99);
        data.AsSpan(0, 4096).CopyTo(w1.GetSpan());
        data.AsSpan(4096).CopyTo(w2.GetSpan()[(2 * 512)..]);
        r = await disk.SubmitAsync(Request(BlkifOperation.Write, 2, sector: 40, (101, 0, 7), (102, 2, 5)));
        Assert.Equal(new BlkifResponse(2, BlkifOperation.Write, BlkifStatus.Okay), r);

        using SharedPage r1 = disk.GrantPage(103);
        using SharedPage r2 = disk.GrantPage(104);
        r = await disk.SubmitAsync(Request(BlkifOperation.Read, 3, sector: 40, (103, 0, 7), (104, 4, 7)));
        Assert.Equal(new BlkifResponse(3, BlkifOperation.Read, BlkifStatus.Okay), r);
        byte[] readBack = [.. r1.GetSpan()[..4096], .. r2.GetSpan()[(4 * 512)..]];
        Assert.Equal(data, readBack);

        r = await disk.SubmitAsync(new BlkifRequest { Operation = BlkifOperation.FlushDiskCache, Id = 4 });
        Assert.Equal(new BlkifResponse(4, BlkifOperation.FlushDiskCache, BlkifStatus.Okay), r);

        // After the flush the image file holds the write, and nothing else changed.
        byte[] expected = (byte[])initial.Clone();
        data.CopyTo(expected, 40 * 512);
        Assert.Equal(expected, await File.ReadAllBytesAsync(disk.ImagePath));
        Assert.Equal(disk.Backend, await xs.ReadStringAsync($"{disk.Frontend}/backend"));
        Assert.Equal("4", await xs.ReadStringAsync($"{disk.Backend}/state"));
        Assert.False(disk.Qemu.HasExited, disk.Qemu.Output);
    }

    /// <remarks>
    /// The indices start at 0: QEMU's backend sets its own <c>req_cons</c> and <c>rsp_prod_pvt</c> to 0 when it
    /// maps the ring (<c>BACK_RING_INIT</c> in its xen-block dataplane), whatever the shared page says, so a
    /// frontend that started near 2^32 would have it read slots the frontend never wrote. Crossing 2^32 is tested
    /// against a C peer built from ring.h (<c>Xen.Rings.Tests/Native/BlkifPeerTests</c>).
    /// </remarks>
    [Fact]
    public async Task Hundreds_of_requests_of_1_to_11_segments_wrap_qemus_ring_many_times_and_every_byte_matches_the_image()
    {
        const int requestCount = 704;
        byte[] model = Pattern(WrapDiskBytes, seed: 5);
        await using QemuDisk disk = await QemuDisk.ConnectAsync(model);
        FrontRing<BlkifRequest, BlkifResponse> ring = disk.Ring;
        int slotCount = ring.SlotCount;
        Assert.Equal(32, slotCount);

        // Each request in flight owns one region of the disk and one set of 11 granted pages, both picked from a free
        // list, so requests in flight never overlap and the order in which QEMU completes them does not matter.
        int regionSectors = WrapDiskBytes / BlkifConstants.SectorSize / slotCount;
        SharedPage[][] pages = [.. Enumerable.Range(0, slotCount).Select(region =>
            Enumerable.Range(0, BlkifConstants.MaxSegmentsPerRequest).Select(i => disk.GrantPage(PageRef(region, i))).ToArray())];
        try
        {
            using SafeFileHandle image = File.OpenHandle(disk.ImagePath);
            var free = new Queue<int>(Enumerable.Range(0, slotCount));
            var inFlight = new Dictionary<ulong, Transfer>();
            var random = new Random(2024);
            int[] segmentCounts = new int[BlkifConstants.MaxSegmentsPerRequest + 1];
            int submitted = 0;
            int completed = 0;
            int pushes = 0;
            int notifies = 0;
            int largestBatch = 0;

            void Complete(BlkifResponse response)
            {
                Assert.True(inFlight.Remove(response.Id, out Transfer? transfer), $"a response to id {response.Id}, which is not in flight");
                Assert.Equal(new BlkifResponse(transfer.Id, transfer.Operation, BlkifStatus.Okay), response);
                transfer.Check(pages[transfer.Region], model, image);
                free.Enqueue(transfer.Region);
                completed++;
            }

            while (completed < requestCount)
            {
                // A batch of 1 up to as many requests as the ring has room for, published with one push; every fifth
                // batch (the first among them, when the whole ring is free) fills all the room there is.
                int room = Math.Min(ring.FreeRequests, requestCount - submitted);
                if (room > 0)
                {
                    int batch = pushes % 5 == 0 ? room : random.Next(1, room + 1);
                    largestBatch = Math.Max(largestBatch, batch);
                    for (int i = 0; i < batch; i++)
                    {
                        int region = free.Dequeue();
                        Transfer transfer = Transfer.Prepare(random, (ulong)submitted + 1000, region, regionSectors, pages[region]);
                        segmentCounts[transfer.Segments.Length]++;
                        inFlight.Add(transfer.Id, transfer);
                        Assert.True(ring.TryProduceRequest(transfer.Request), $"no room for request {submitted} with {ring.FreeRequests} free");
                        submitted++;
                    }

                    pushes++;
                    if (ring.PushRequests())
                    {
                        notifies++;
                        disk.Channel.Notify();
                    }
                }

                // At least one response before the next batch, then whatever else is there.
                Complete(await disk.NextResponseAsync($"{inFlight.Count} requests in flight after {completed} of {requestCount} completed"));
                while (ring.TryConsumeResponse(out BlkifResponse response))
                {
                    Complete(response);
                }
            }

            Assert.Empty(inFlight);
            Assert.Equal((uint)requestCount, ring.RequestProducerPrivate);
            Assert.Equal((uint)requestCount, ring.SharedRequestProducer);
            Assert.Equal((uint)requestCount, ring.ResponseConsumer);
            Assert.Equal(0, ring.UnconsumedResponses);
            Assert.True(requestCount / slotCount >= 20, "the indices went round the ring at least 20 times");
            Assert.Equal(slotCount, largestBatch);
            Assert.All(segmentCounts.Skip(1), n => Assert.True(n > 0, $"segment counts used: {string.Join(", ", segmentCounts)}"));
            Assert.InRange(notifies, 1, pushes);

            BlkifResponse flushed = await disk.SubmitAsync(new BlkifRequest { Operation = BlkifOperation.FlushDiskCache, Id = 1 });
            Assert.Equal(new BlkifResponse(1, BlkifOperation.FlushDiskCache, BlkifStatus.Okay), flushed);
            Assert.Equal(model, await File.ReadAllBytesAsync(disk.ImagePath));
            Assert.Equal((uint)requestCount + 1, ring.ResponseConsumer);
            Assert.False(disk.Qemu.HasExited, disk.Qemu.Output);
        }
        finally
        {
            foreach (SharedPage page in pages.SelectMany(p => p))
            {
                page.Dispose();
            }
        }
    }

    private static uint PageRef(int region, int segment) => (uint)(100 + (region * BlkifConstants.MaxSegmentsPerRequest) + segment);

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

    /// <summary>
    /// One READ or WRITE of the wrap test: 1 to 11 segments, each a random sector range of one of its region's granted
    /// pages, covering a contiguous run of sectors at a random place in its region of the disk.
    /// </summary>
    private sealed class Transfer
    {
        private const byte Untouched = 0xCC;

        private Transfer(BlkifRequest request, int region, (byte First, byte Last)[] segments, byte[]? data)
        {
            Request = request;
            Region = region;
            Segments = segments;
            Data = data;
        }

        public BlkifRequest Request { get; }

        public ulong Id => Request.Id;

        public BlkifOperation Operation => Request.Operation;

        public int Region { get; }

        public (byte First, byte Last)[] Segments { get; }

        /// <summary>What a WRITE sends.</summary>
        public byte[]? Data { get; }

        private long ByteOffset => (long)Request.SectorNumber * BlkifConstants.SectorSize;

        private int ByteCount => Segments.Sum(s => (s.Last - s.First + 1) * BlkifConstants.SectorSize);

        /// <summary>Picks the request and fills the pages: a WRITE's data, or a marker a READ must overwrite only where its segments are.</summary>
        public static Transfer Prepare(Random random, ulong id, int region, int regionSectors, SharedPage[] pages)
        {
            var segments = new (byte First, byte Last)[random.Next(1, BlkifConstants.MaxSegmentsPerRequest + 1)];
            for (int i = 0; i < segments.Length; i++)
            {
                int first = random.Next(BlkifConstants.SectorsPerPage);
                segments[i] = ((byte)first, (byte)random.Next(first, BlkifConstants.SectorsPerPage));
            }

            int sectors = segments.Sum(s => s.Last - s.First + 1);
            ulong sector = (ulong)((region * regionSectors) + random.Next(regionSectors - sectors + 1));
            BlkifOperation operation = random.Next(2) == 0 ? BlkifOperation.Write : BlkifOperation.Read;
            byte[]? data = null;
            if (operation == BlkifOperation.Write)
            {
                data = new byte[sectors * BlkifConstants.SectorSize];
                random.NextBytes(data);
            }

            int offset = 0;
            for (int i = 0; i < segments.Length; i++)
            {
                Span<byte> page = pages[i].GetSpan();
                page.Fill(Untouched);
                int length = (segments[i].Last - segments[i].First + 1) * BlkifConstants.SectorSize;
                data?.AsSpan(offset, length).CopyTo(page[(segments[i].First * BlkifConstants.SectorSize)..]);
                offset += length;
            }

            return new Transfer(
                Request(operation, id, sector, [.. segments.Select((s, i) => (PageRef(region, i), s.First, s.Last))]),
                region,
                segments,
                data);
        }

        /// <summary>
        /// After the response: a WRITE's data is in the image file (and now in the model); a READ brought what the model
        /// and the image file hold into exactly its segments' sectors, leaving the rest of each page alone.
        /// </summary>
        public void Check(SharedPage[] pages, byte[] model, SafeFileHandle image)
        {
            byte[] onDisk = new byte[ByteCount];
            Assert.Equal(onDisk.Length, RandomAccess.Read(image, onDisk, ByteOffset));
            if (Data is not null)
            {
                Assert.True(Data.AsSpan().SequenceEqual(onDisk), $"{this}: the image file does not hold the written data");
                Data.CopyTo(model, ByteOffset);
                return;
            }

            var read = new List<byte>(ByteCount);
            for (int i = 0; i < Segments.Length; i++)
            {
                ReadOnlySpan<byte> page = pages[i].GetSpan();
                int start = Segments[i].First * BlkifConstants.SectorSize;
                int end = (Segments[i].Last + 1) * BlkifConstants.SectorSize;
                read.AddRange(page[start..end]);
                Assert.True(page[..start].IndexOfAnyExcept(Untouched) < 0 && page[end..].IndexOfAnyExcept(Untouched) < 0, $"{this}: page {i} was written outside its segment");
            }

            Assert.True(model.AsSpan((int)ByteOffset, ByteCount).SequenceEqual(read.ToArray()), $"{this}: the data read is not what was written there");
            Assert.True(onDisk.AsSpan().SequenceEqual(read.ToArray()), $"{this}: the data read is not what the image file holds");
        }

        public override string ToString() =>
            $"{Operation} id {Id} region {Region} sector {Request.SectorNumber}, segments {string.Join(' ', Segments.Select(s => $"{s.First}..{s.Last}"))}";
    }

    /// <summary>
    /// QEMU's xen-block on our embedded store with domain 5's disk connected: the guest's xenstore client over its
    /// ring, the xenbus handshake done (backend and frontend Connected), and our front ring on granted page 8 with
    /// event channel 20.
    /// </summary>
    private sealed class QemuDisk : IAsyncDisposable
    {
        private readonly EmbeddedStore _store;
        private RingGuest? _guest;
        private SharedPage? _ringPage;
        private FrontRing<BlkifRequest, BlkifResponse>? _ring;
        private IEventChannel? _channel;
        private PeerDaemon? _qemu;

        private QemuDisk(EmbeddedStore store)
        {
            _store = store;
            ImagePath = Path.Combine(store.StateDirectory, "disk.img");
        }

        public string ImagePath { get; }

        public string Frontend { get; } = $"/local/domain/{DomainId}/device/vbd/{VirtualDevice}";

        public string Backend { get; } = $"/local/domain/0/backend/qdisk/{DomainId}/{VirtualDevice}";

        public PeerDaemon Qemu => _qemu!;

        /// <summary>The guest's xenstore connection (over its ring).</summary>
        public XenStoreClient XenStore => _guest!.Client;

        public FrontRing<BlkifRequest, BlkifResponse> Ring => _ring!;

        public IEventChannel Channel => _channel!;

        /// <summary>Writes <paramref name="image"/> as the disk, starts QEMU and connects the disk.</summary>
        public static async Task<QemuDisk> ConnectAsync(byte[] image)
        {
            PeerPrograms.Require(requirePeersScripts: false, QemuProgram);
            var disk = new QemuDisk(await EmbeddedStore.StartAsync());
            try
            {
                await disk.StartAsync(image);
                return disk;
            }
            catch
            {
                await disk.DisposeAsync();
                throw;
            }
        }

        /// <summary>A zeroed page the guest grants with reference <paramref name="grantRef"/> (the file <c>gnt-5-R</c>).</summary>
        public SharedPage GrantPage(uint grantRef)
        {
            string path = Path.Combine(_store.StateDirectory, $"gnt-{DomainId}-{grantRef}");
            File.WriteAllBytes(path, new byte[SharedPage.PageSize]);
            return SharedPage.MapFile(path);
        }

        /// <summary>One request on its own: produce, push (notifying if QEMU asked), wait for its response.</summary>
        public Task<BlkifResponse> SubmitAsync(BlkifRequest request)
        {
            Assert.True(Ring.TryProduceRequest(request), $"the ring is full ({Ring.FreeRequests} free)");
            if (Ring.PushRequests())
            {
                Channel.Notify();
            }

            return NextResponseAsync($"{request.Operation} id {request.Id}");
        }

        /// <summary>
        /// The next response: consumed at once if there is one, else after the final check (which re-arms
        /// <c>rsp_event</c>) and a wait on the event channel.
        /// </summary>
        public Task<BlkifResponse> NextResponseAsync(string waitingFor) =>
            Deadline.RunAsync(
                async token =>
                {
                    while (true)
                    {
                        if (Ring.TryConsumeResponse(out BlkifResponse response))
                        {
                            return response;
                        }

                        if (!Ring.FinalCheckForResponses())
                        {
                            await Channel.WaitAsync(token);
                        }
                    }
                },
                () => $"no response ({waitingFor}; req_prod {Ring.SharedRequestProducer}, rsp_cons {Ring.ResponseConsumer}); QEMU: {Qemu.Output}");

        public async ValueTask DisposeAsync()
        {
            _channel?.Dispose();
            _ring?.Dispose();
            _ringPage?.Dispose();
            if (_guest is not null)
            {
                await _guest.DisposeAsync();
            }

            await _store.DisposeAsync();
        }

        private async Task StartAsync(byte[] image)
        {
            string dir = _store.StateDirectory;
            await File.WriteAllBytesAsync(ImagePath, image);
            _qemu = _store.Peer.StartShimmed(QemuProgram,
            [
                "-M", "xenpv", "-xen-domid", DomainId.ToString(CultureInfo.InvariantCulture), "-xen-attach",
                "-nographic", "-display", "none", "-nodefaults",
                "-trace", "enable=xen_device_*", // the xenbus handshake as QEMU saw it, for failure messages
                "-device", "xen-disk,vdev=xvda,drive=d0",
                "-drive", $"if=none,id=d0,file={ImagePath},format=raw",
            ]);

            // The guest's own xenstore connection: our client over its xenstore ring, after the toolstack (dom0) has
            // given it a home and introduced it. Its blkif channel shares the guest's event-channel socket.
            await using (XenStoreClient dom0 = await _store.ConnectDom0Async())
            {
                _guest = await RingGuest.IntroduceAsync(dom0, dir, DomainId, XenStorePort);
            }

            XenStoreClient xs = _guest.Client;

            // The backend announces itself through our store and waits for the frontend. QEMU sets the backend to
            // InitWait before it writes the frontend's state (Initialising): a frontend that moved on before that
            // write would be set back to Initialising and never connect, so wait for both.
            await WaitForStateAsync(xs, $"{Backend}/state", 2, _qemu);
            await WaitForStateAsync(xs, $"{Frontend}/state", 1, _qemu);
            _ringPage = GrantPage(RingRef);
            _ring = FrontRing<BlkifRequest, BlkifResponse>.Initialize(_ringPage.Memory);
            _channel = _guest.Domain.OpenChannel(EventChannel);
            await xs.RunTransactionAsync<bool>(async (tx, token) =>
            {
                await tx.WriteAsync($"{Frontend}/ring-ref", RingRef.ToString(CultureInfo.InvariantCulture), token);
                await tx.WriteAsync($"{Frontend}/event-channel", EventChannel.ToString(CultureInfo.InvariantCulture), token);
                await tx.WriteAsync($"{Frontend}/protocol", BlkifConstants.ProtocolX86_64, token);
                await tx.WriteAsync($"{Frontend}/state", "3", token);
                return true;
            });

            await WaitForStateAsync(xs, $"{Backend}/state", 4, _qemu);
            await xs.WriteAsync($"{Frontend}/state", "4");
        }
    }
}
