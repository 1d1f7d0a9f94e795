using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Xen.Rings.Memory;
using Xen.Rings.Shim;
using Xen.Rings.XenStore;
using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// C xenstored's <c>-w watch-event=SECONDS</c>: a guest that stops reading its ring loses the watch events that wait
/// unsent past the timeout, keeps what was already in its ring, and is served as before once it reads again. Both
/// daemons are started with the same command line under the shim; the guest is raw ring bytes, so nothing reads for it.
/// </summary>
[Trait("Category", "Interop")]
public sealed class WatchEventTimeoutTests
{
    private const uint DomainId = 7;
    private const uint Port = 9;
    private const int Changes = 60;

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task Watch_events_a_guest_leaves_unread_past_the_timeout_are_dropped_and_the_ring_goes_on(XenstoredKind kind)
    {
        PeerPrograms.Require(requirePeersScripts: true, PeerPrograms.Xenstored, PeerPrograms.XenTool, "gcc");
        PeerDaemon? daemon = null;
        await using XenstoredPeer store = await XenstoredPeer.HostExternallyAsync(async (directory, socket) =>
        {
            await DaemonLaunch.PrepareKernelConnectionAsync(directory);
            string[] options = ["--no-fork", "--pid-file", Path.Combine(directory, "xenstored.pid"), "-w", "watch-event=1"];
            Dictionary<string, string> environment = DaemonLaunch.Environment(directory);
            daemon = kind == XenstoredKind.C
                ? PeerDaemon.Start(PeerPrograms.Xenstored, options, environment)
                : PeerDaemon.Start("dotnet", [PeerPrograms.XenTool, "store", "serve", .. options], environment);
            await Deadline.PollAsync(() => File.Exists(socket) || daemon.HasExited, () => $"no socket: {daemon.Output}");
        });
        using (daemon)
        {
            using ShimGuestDomain domain = ShimEventChannels.BindGuest(store.StateDirectory, DomainId);
            string pagePath = Path.Combine(store.StateDirectory, $"xs-ring-{DomainId}");
            await File.WriteAllBytesAsync(pagePath, new byte[SharedPage.PageSize]);
            SharedPage page = SharedPage.MapFile(pagePath);
            using IDisposable unmap = page;
            using var kick = domain.OpenChannel(Port);
            await using XenStoreClient dom0 = await XenStoreClient.ConnectAsync(store.SocketPath);
            await dom0.MkdirAsync($"/local/domain/{DomainId}");
            await dom0.SetPermissionsAsync($"/local/domain/{DomainId}", [XsPermission.Parse($"n{DomainId}")]);
            await dom0.IntroduceAsync(DomainId, 0, Port);

            Send(page, XsMessageType.Watch, "data\0tok\0");
            kick.Notify();
            await Deadline.PollAsync(() => new XenStoreGuestRing(page.Memory.Span).Responses.BytesAvailable > 0, () => "no answer to the guest's WATCH");
            for (int i = 0; i < Changes; i++)
            {
                await dom0.WriteAsync($"/local/domain/{DomainId}/data/n{i:D2}", "x"); // more events than its 1 KiB ring holds
            }

            await Task.Delay(TimeSpan.FromSeconds(2.5)); // the guest reads nothing for longer than the 1 s timeout
            string[] first = await ReadMessagesAsync(page, kick);

            // The WATCH's OK, its initial event, then the changes that were in the ring (a started one is finished).
            int fit = FitsInRing();
            Assert.Equal(["reply OK", "event data", .. Enumerable.Range(0, fit).Select(i => $"event data/n{i:D2}")], first);

            await dom0.WriteAsync($"/local/domain/{DomainId}/data/after", "y");
            Assert.Equal(["event data/after"], await ReadMessagesAsync(page, kick)); // still watching, still served
        }
    }

    /// <summary>How many change events follow the OK and the initial event in a full 1024-byte ring, the last one started.</summary>
    private static int FitsInRing()
    {
        int used = XsHeader.HeaderLength + "OK\0".Length + XsHeader.HeaderLength + "data\0tok\0".Length;
        int each = XsHeader.HeaderLength + "data/n00\0tok\0".Length;
        return (XenStoreRingLayout.RingSize - used + each - 1) / each;
    }

    private static void Send(SharedPage page, XsMessageType type, string payload)
    {
        byte[] frame = new byte[XsHeader.HeaderLength + payload.Length];
        new XsHeader(type, 1, 0, (uint)payload.Length).Write(frame);
        Encoding.ASCII.GetBytes(payload).CopyTo(frame, XsHeader.HeaderLength);
        Assert.Equal(frame.Length, new XenStoreGuestRing(page.Memory.Span).Write(frame));
    }

    /// <summary>
    /// Reads the ring, kicking after each read, until nothing more has come for half a second and what came ends on a
    /// whole message (a daemon slowed by a loaded machine may pause between a message's header and its payload).
    /// </summary>
    private static async Task<string[]> ReadMessagesAsync(SharedPage page, Xen.Rings.Events.IEventChannel kick)
    {
        var bytes = new List<byte>();
        byte[] buffer = new byte[XenStoreRingLayout.RingSize];
        var quiet = Stopwatch.StartNew();
        var total = Stopwatch.StartNew();
        while ((quiet.Elapsed < TimeSpan.FromSeconds(0.5) || bytes.Count == 0 || !EndsOnMessage(bytes)) && total.Elapsed < Deadline.Default)
        {
            int n = new XenStoreGuestRing(page.Memory.Span).Read(buffer);
            if (n > 0)
            {
                bytes.AddRange(buffer.AsSpan(0, n));
                kick.Notify(); // space freed: the daemon writes on
                quiet.Restart();
            }
            else
            {
                await Task.Delay(10);
            }
        }

        var messages = new List<string>();
        byte[] all = [.. bytes];
        for (int at = 0; at < all.Length;)
        {
            var type = (XsMessageType)BinaryPrimitives.ReadUInt32LittleEndian(all.AsSpan(at));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(all.AsSpan(at + 12));
            string[] words = Encoding.ASCII.GetString(all, at + XsHeader.HeaderLength, length).Split('\0');
            messages.Add(type == XsMessageType.WatchEvent ? $"event {words[0]}" : $"reply {words[0]}");
            at += XsHeader.HeaderLength + length;
        }

        return [.. messages];
    }

    /// <summary>Whether <paramref name="bytes"/> are whole messages, none cut short.</summary>
    private static bool EndsOnMessage(List<byte> bytes)
    {
        byte[] all = [.. bytes];
        int at = 0;
        while (all.Length - at >= XsHeader.HeaderLength)
        {
            at += XsHeader.HeaderLength + (int)BinaryPrimitives.ReadUInt32LittleEndian(all.AsSpan(at + 12));
        }

        return at == all.Length;
    }
}
