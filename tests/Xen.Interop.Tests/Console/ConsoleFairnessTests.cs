using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Xen.Rings.Console;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>
/// Many guests at once on one console daemon, the real xenconsoled and ours: a guest that floods does not cost the
/// others any output, and (ours) a guest whose ring indices are garbage loses its console alone.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ConsoleFairnessTests
{
    private const int GuestCount = 20;
    private const int FloodBytes = 512 * 1024;

    public static TheoryData<ConsoleDaemonKind> Daemons => new() { ConsoleDaemonKind.Xenconsoled, ConsoleDaemonKind.Ours };

    [Theory]
    [MemberData(nameof(Daemons))]
    public async Task Twenty_guests_printing_at_once_one_flooding_each_get_their_whole_output_logged(ConsoleDaemonKind daemon)
    {
        ConsoleGuestOptions[] guests = [.. Enumerable.Range(5, GuestCount).Select(d => new ConsoleGuestOptions { DomainId = (uint)d, Name = $"guest{d}" })];
        await using XenstoredPeer store = await XenstoredPeer.StartAsync();
        await using XenconsoledPeer console = await XenconsoledPeer.StartAsync(store, guests, daemon);
        var attached = guests.Select(g => ConsoleGuest.Attach(console, g)).ToArray();
        try
        {
            byte[][] outputs = [.. guests.Select((g, i) => i == 0 ? Flood() : Lines(g))];
            await Task.WhenAll(attached.Select((guest, i) => Task.Run(() => guest.WriteAllAsync(outputs[i]))));
            for (int i = 0; i < guests.Length; i++)
            {
                byte[] expected = outputs[i];
                ConsoleGuestOptions g = guests[i];
                byte[] log = [];
                await Deadline.PollAsync(
                    () => (log = console.ReadLog(g)).Length >= expected.Length,
                    () => $"{g.Name}'s log holds {log.Length} of {expected.Length} bytes; {console.Output}");
                Assert.True(expected.AsSpan().SequenceEqual(log), $"{g.Name}'s log differs from what it printed ({log.Length} bytes, {expected.Length} printed)");
            }
        }
        finally
        {
            foreach (ConsoleGuest guest in attached)
            {
                guest.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_guest_with_garbage_ring_indices_loses_its_console_with_a_log_line_and_the_others_are_served()
    {
        ConsoleGuestOptions good1 = new() { DomainId = 5, Name = "guest5" };
        ConsoleGuestOptions bad = new()
        {
            DomainId = 6,
            Name = "guest6",
            PreparePage = page => BinaryPrimitives.WriteUInt32LittleEndian(page[ConsoleLayout.OutProdOffset..], 0x0001_0000), // 64 KiB "written" into a 2 KiB ring
        };
        ConsoleGuestOptions good2 = new() { DomainId = 7, Name = "guest7" };
        await using XenstoredPeer store = await XenstoredPeer.StartAsync();
        await using XenconsoledPeer console = await XenconsoledPeer.StartAsync(store, [good1, bad, good2], ConsoleDaemonKind.Ours);
        using ConsoleGuest hostile = ConsoleGuest.Attach(console, bad);
        using ConsoleGuest first = ConsoleGuest.Attach(console, good1);
        using ConsoleGuest second = ConsoleGuest.Attach(console, good2);

        hostile.Channel.Notify();
        await Deadline.PollAsync(
            () => console.Output.Contains("Closing domain 6's console: ring 'out' is corrupted", StringComparison.Ordinal),
            () => $"no log line about domain 6's ring; {console.Output}");

        byte[] text1 = Lines(good1);
        byte[] text2 = Lines(good2);
        await Task.WhenAll(first.WriteAllAsync(text1), second.WriteAllAsync(text2));
        Assert.Equal(text1, await WaitForLogAsync(console, good1, text1.Length));
        Assert.Equal(text2, await WaitForLogAsync(console, good2, text2.Length));
        Assert.False(console.HasExited, console.Output);
        Assert.Equal(0u, hostile.OutCons); // nothing was consumed from the broken ring
        Assert.Empty(console.ReadLog(bad));
    }

    private static async Task<byte[]> WaitForLogAsync(XenconsoledPeer console, ConsoleGuestOptions guest, int byteCount)
    {
        byte[] log = [];
        await Deadline.PollAsync(
            () => (log = console.ReadLog(guest)).Length >= byteCount,
            () => $"{guest.Name}'s log holds {log.Length} of {byteCount} bytes; {console.Output}");
        return log;
    }

    private static byte[] Flood()
    {
        byte[] data = new byte[FloodBytes];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)('!' + (i % 90));
        }

        return data;
    }

    private static byte[] Lines(ConsoleGuestOptions guest)
    {
        var text = new StringBuilder();
        for (int i = 0; i < 400; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{guest.Name} line {i:D3}: the quick brown fox\n");
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }
}
