using System.Globalization;
using System.Text;
using Xen.Rings.Console;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>Our console frontend as the guest, the real xenconsoled as the backend: the output direction.</summary>
[Trait("Category", "Interop")]
public class XenconsoledOutputTests
{
    /// <summary>The daemon under test: the real xenconsoled here, ours in the derived class.</summary>
    protected virtual ConsoleDaemonKind Daemon => ConsoleDaemonKind.Xenconsoled;

    [Theory]
    [InlineData(0u)]
    [InlineData(0xFFFF_F000u)] // the indices cross 2^32 half-way through
    public async Task Output_larger_than_the_ring_reaches_xenconsoleds_log_byte_for_byte(uint startIndex)
    {
        string text = SampleText(minimumBytes: 9000);
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        Assert.True(bytes.Length > 4 * ConsoleLayout.OutSize);

        await using var store = await XenstoredPeer.StartAsync();
        await using var console = await XenconsoledPeer.StartAsync(store, new ConsoleGuestOptions
        {
            PreparePage = page => new ConsoleFrontend(page).Reset(startIndex),
        }, Daemon);
        using var guest = ConsoleGuest.Attach(console);

        // Uneven pieces, as a guest's printk calls come: some fit in the free space, some need several waits.
        int[] pieceSizes = [1, 700, 1500, 33, 2048, 4000, 5];
        for (int offset = 0, i = 0; offset < bytes.Length; i++)
        {
            int size = Math.Min(pieceSizes[i % pieceSizes.Length], bytes.Length - offset);
            await guest.WriteAllAsync(bytes.AsMemory(offset, size));
            offset += size;
        }

        byte[] log = await console.WaitForLogAsync(bytes.Length);
        Assert.Equal(text, Encoding.UTF8.GetString(log));
        Assert.Equal(unchecked(startIndex + (uint)bytes.Length), guest.OutProd);
        await guest.WaitUntilOutputConsumedAsync();
        Assert.Equal(guest.OutProd, guest.OutCons);
    }

    [Fact]
    public async Task Newline_translation_reaches_the_log_as_carriage_return_line_feed()
    {
        // More newlines than out[] can hold once doubled; after the odd-length prefix, out[] tends to fill with one
        // byte free when a newline (two bytes) is next, the case where a pair must not be split.
        string text = "first\nsecond\n\nthird" + new string('\n', 1500) + "last line\n";
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        byte[] expected = Encoding.ASCII.GetBytes(text.Replace("\n", "\r\n", StringComparison.Ordinal));

        await using var store = await XenstoredPeer.StartAsync();
        await using var console = await XenconsoledPeer.StartAsync(store, daemon: Daemon);
        using var guest = ConsoleGuest.Attach(console);

        await guest.WriteAllAsync("x"u8.ToArray()); // makes the prefix odd: 1 + 22 bytes
        await guest.WriteAllAsync(bytes, translateNewlines: true);

        byte[] log = await console.WaitForLogAsync(1 + expected.Length);
        Assert.Equal("x" + Encoding.ASCII.GetString(expected), Encoding.ASCII.GetString(log));
    }

    private static string SampleText(int minimumBytes)
    {
        var text = new StringBuilder();
        for (int i = 0; Encoding.UTF8.GetByteCount(text.ToString()) < minimumBytes; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"line {i:D4} {new string((char)('a' + (i % 26)), i % 97)} \u00e9\u20ac\t|\n");
        }

        return text.Append("no newline at the end").ToString();
    }
}
