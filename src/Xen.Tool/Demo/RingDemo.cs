using System.Security.Cryptography;
using System.Text;
using Xen.Rings.Blkif;
using Xen.Rings.Console;
using Xen.Rings.Events;
using Xen.Rings.SharedRing;
using Xen.Rings.Memory;
using Xen.Store.Wire;

namespace Xen.Tool.Demo;

/// <summary>
/// The demo's ring part: a guest and its backends in one process, each pair sharing a page and an event channel
/// as they would through Xen: a console (guest driver and a daemon stream) and a blkif disk (a front end and a
/// RAM-disk back end moving data through "granted" pages).
/// </summary>
internal static class RingDemo
{
    public static async Task<int> RunAsync(TextWriter output, CancellationToken cancellationToken)
    {
        var checks = new DemoChecks();
        output.WriteLine("== xenstore: an embedded xenstored, dom0, and guest domain 5 over its xenstore ring");
        await using StoreDemo store = await StoreDemo.StartAsync(cancellationToken).ConfigureAwait(false);
        await store.IntroduceGuestAsync(output, checks, cancellationToken).ConfigureAwait(false);
        await store.PrintTreeAsync(output, "after the guest was introduced", XsPath.DomainPath(StoreDemo.GuestDomain), cancellationToken).ConfigureAwait(false);

        output.WriteLine();
        output.WriteLine("== tap2 disk: the blktap2 lifecycle with the simulated tap host and blkback");
        await DiskDemo.RunAsync(store, output, checks, cancellationToken).ConfigureAwait(false);

        output.WriteLine();
        output.WriteLine("== console ring: guest driver -> console daemon, and keyboard input back");
        checks.Add("console output reached the daemon byte for byte", await ConsoleAsync(output, checks, cancellationToken).ConfigureAwait(false));
        output.WriteLine();
        output.WriteLine("== blkif ring: front end -> RAM-disk back end, 32-slot ring on one page");
        checks.Add("blkif writes read back identical", await BlkifAsync(output, cancellationToken).ConfigureAwait(false));

        output.WriteLine();
        checks.Print(output);
        output.WriteLine(checks.AllPassed ? "demo: every step checked out" : "demo: SOME STEPS FAILED");
        return checks.AllPassed ? 0 : 1;
    }

    private static async Task<bool> ConsoleAsync(TextWriter output, DemoChecks checks, CancellationToken cancellationToken)
    {
        using var page = SharedPage.Allocate();
        var (guestChannel, daemonChannel) = InProcessEventChannel.CreatePair();
        using var _1 = guestChannel;
        using var _2 = daemonChannel;
        using var driver = new ConsoleDriver(page.Memory, guestChannel, new ConsoleDriverOptions { TranslateNewlines = true, TransmitBufferSize = 512 });
        await using var daemon = ConsoleRingStream.OpenBackend(page.Memory, daemonChannel);

        var boot = new StringBuilder();
        for (int i = 0; i < 60; i++)
        {
            boot.Append(System.Globalization.CultureInfo.InvariantCulture, $"[    {i * 0.013:0.000000}] demo guest: boot message {i} of 60\n");
        }

        byte[] sent = Encoding.ASCII.GetBytes(boot.ToString());
        byte[] expected = Encoding.ASCII.GetBytes(boot.ToString().Replace("\n", "\r\n", StringComparison.Ordinal));
        Task writing = driver.WriteAsync(sent, cancellationToken).AsTask();
        byte[] received = new byte[expected.Length];
        await daemon.ReadExactlyAsync(received, cancellationToken).ConfigureAwait(false);
        await writing.ConfigureAwait(false);
        string text = Encoding.ASCII.GetString(received);
        string[] lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine($"   the guest wrote {sent.Length} bytes through a {driver.TransmitBufferSize}-byte buffer and the 2048-byte out ring; the daemon read {received.Length} (\\n -> \\r\\n):");
        output.WriteLine($"   | {lines[0]}");
        output.WriteLine($"   | ... {lines.Length - 2} more ...");
        output.WriteLine($"   | {lines[^1]}");

        await daemon.WriteAsync("root\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        byte[] typed = new byte[16];
        int n = await driver.ReadAsync(typed, cancellationToken).ConfigureAwait(false);
        bool inputOk = Encoding.ASCII.GetString(typed, 0, n) == "root\n";
        output.WriteLine($"   the daemon typed \"root\\n\" into the in ring; the guest read {n} bytes: {(inputOk ? "match" : "MISMATCH")}");
        checks.Add("keyboard input reached the guest", inputOk);
        return received.AsSpan().SequenceEqual(expected);
    }

    private static async Task<bool> BlkifAsync(TextWriter output, CancellationToken cancellationToken)
    {
        const int sectors = 2048; // a 1 MiB disk
        using var ringPage = SharedPage.Allocate();
        var grants = new GrantTable();
        var disk = new byte[sectors * BlkifConstants.SectorSize];
        var (frontChannel, backChannel) = InProcessEventChannel.CreatePair();
        using var _1 = frontChannel;
        using var _2 = backChannel;
        using var front = FrontRing<BlkifRequest, BlkifResponse>.Initialize(ringPage.Memory);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var backend = Task.Run(() => ServeAsync(ringPage.Memory, grants, disk, backChannel, stop.Token), CancellationToken.None);

        // Write the whole disk with a pattern, 11 segments (44 KiB) per request, then read it back.
        byte[] pattern = new byte[disk.Length];
        new Random(51712).NextBytes(pattern);
        int requests = 0;
        int notifications = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            var op = pass == 0 ? BlkifOperation.Write : BlkifOperation.Read;
            int perRequest = BlkifConstants.MaxSegmentsPerRequest * BlkifConstants.SectorsPerPage;
            var inFlight = new Dictionary<ulong, (long Sector, uint[] Grants)>();
            long next = 0;
            while (next < sectors || inFlight.Count != 0)
            {
                while (next < sectors && !front.IsFull)
                {
                    int count = (int)Math.Min(perRequest, sectors - next);
                    var request = new BlkifRequest { Operation = op, Handle = 0, Id = (ulong)requests++, SectorNumber = (ulong)next };
                    var refs = new uint[(count + BlkifConstants.SectorsPerPage - 1) / BlkifConstants.SectorsPerPage];
                    for (int s = 0; s < refs.Length; s++)
                    {
                        byte[] pageData = new byte[4096];
                        if (op == BlkifOperation.Write)
                        {
                            pattern.AsSpan((int)((next * BlkifConstants.SectorSize) + (s * 4096)), 4096).CopyTo(pageData);
                        }

                        refs[s] = grants.Grant(pageData);
                        request.Segments[s] = new BlkifRequestSegment(refs[s], 0, BlkifConstants.SectorsPerPage - 1);
                    }

                    request.SegmentCount = (byte)refs.Length;
                    front.TryProduceRequest(request);
                    inFlight.Add(request.Id, (next, refs));
                    next += count;
                }

                if (front.PushRequests())
                {
                    notifications++;
                    frontChannel.Notify();
                }

                while (front.TryConsumeResponse(out BlkifResponse response))
                {
                    if (response.Status != BlkifStatus.Okay || !inFlight.Remove(response.Id, out var done))
                    {
                        output.WriteLine($"   unexpected response {response}");
                        return false;
                    }

                    for (int s = 0; s < done.Grants.Length; s++)
                    {
                        byte[] pageData = grants.Revoke(done.Grants[s]);
                        if (op == BlkifOperation.Read)
                        {
                            pageData.CopyTo(pattern.AsSpan((int)((done.Sector * BlkifConstants.SectorSize) + (s * 4096)), 4096));
                        }
                    }
                }

                if (inFlight.Count != 0 && !front.FinalCheckForResponses())
                {
                    await frontChannel.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            output.WriteLine($"   {(op == BlkifOperation.Write ? "wrote" : "read ")} {sectors} sectors in {(sectors + perRequest - 1) / perRequest} requests of up to 11 segments");
        }

        await stop.CancelAsync().ConfigureAwait(false);
        await backend.ConfigureAwait(false);
        bool same = disk.AsSpan().SequenceEqual(pattern);
        output.WriteLine($"   {requests} requests, {notifications} front-end notifications (event-index suppressed the rest); disk SHA-256 {Convert.ToHexString(SHA256.HashData(disk))[..16]}...; read-back {(same ? "identical" : "DIFFERENT")}");
        return same;
    }

    private static async Task ServeAsync(Memory<byte> ring, GrantTable grants, byte[] disk, InProcessEventChannel channel, CancellationToken cancellationToken)
    {
        using var back = BackRing<BlkifRequest, BlkifResponse>.Attach(ring);
        try
        {
            while (true)
            {
                while (back.TryConsumeRequest(out BlkifRequest request))
                {
                    var status = BlkifStatus.Okay;
                    long offset = (long)request.SectorNumber * BlkifConstants.SectorSize;
                    for (int s = 0; s < request.SegmentCount && s < BlkifConstants.MaxSegmentsPerRequest; s++)
                    {
                        BlkifRequestSegment seg = request.Segments[s];
                        if (!seg.IsValid || !grants.TryGet(seg.GrantRef, out byte[]? page) || offset + seg.ByteCount > disk.Length)
                        {
                            status = BlkifStatus.Error;
                            break;
                        }

                        Span<byte> data = page.AsSpan(seg.FirstSector * BlkifConstants.SectorSize, seg.ByteCount);
                        Span<byte> onDisk = disk.AsSpan((int)offset, seg.ByteCount);
                        if (request.Operation == BlkifOperation.Write)
                        {
                            data.CopyTo(onDisk);
                        }
                        else
                        {
                            onDisk.CopyTo(data);
                        }

                        offset += seg.ByteCount;
                    }

                    back.ProduceResponse(new BlkifResponse(request.Id, request.Operation, status));
                }

                if (back.PushResponses())
                {
                    channel.Notify();
                }

                if (!back.FinalCheckForRequests())
                {
                    await channel.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stands in for the grant table: the front end grants pages by reference; the back end maps them.</summary>
    private sealed class GrantTable
    {
        private readonly Dictionary<uint, byte[]> _pages = [];
        private uint _next = 8;

        public uint Grant(byte[] page)
        {
            lock (_pages)
            {
                _pages.Add(_next, page);
                return _next++;
            }
        }

        public bool TryGet(uint gref, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? page)
        {
            lock (_pages)
            {
                return _pages.TryGetValue(gref, out page);
            }
        }

        public byte[] Revoke(uint gref)
        {
            lock (_pages)
            {
                _pages.Remove(gref, out byte[]? page);
                return page!;
            }
        }
    }
}
