using Xen.Rings.Console;

namespace Xen.Rings.Tests;

public class ConsoleViewTests
{
    [Fact]
    public void Guest_output_reaches_the_backend_and_backend_input_reaches_the_guest_through_one_page()
    {
        byte[] page = new byte[ConsoleLayout.PageSize];
        Assert.Equal(5, new ConsoleFrontend(page).Write("hello"u8));
        Assert.Equal(3, new ConsoleBackend(page).Write("abc"u8));

        byte[] buf = new byte[16];
        Assert.Equal(5, new ConsoleBackend(page).Read(buf));
        Assert.Equal("hello"u8.ToArray(), buf[..5]);
        Assert.Equal(3, new ConsoleFrontend(page).Read(buf));
        Assert.Equal("abc"u8.ToArray(), buf[..3]);
        // out_prod at 3084 and in_prod at 3076, little-endian, as console.h lays them out.
        Assert.Equal(5u, BitConverter.ToUInt32(page, ConsoleLayout.OutProdOffset));
        Assert.Equal(5u, BitConverter.ToUInt32(page, ConsoleLayout.OutConsOffset));
        Assert.Equal(3u, BitConverter.ToUInt32(page, ConsoleLayout.InProdOffset));
        Assert.Equal((byte)'h', page[ConsoleLayout.OutOffset]);
        Assert.Equal((byte)'a', page[ConsoleLayout.InOffset]);
    }

    [Fact]
    public void The_out_ring_holds_2048_bytes_and_the_in_ring_1024()
    {
        byte[] page = new byte[ConsoleLayout.PageSize];
        Assert.Equal(2048, new ConsoleFrontend(page).Write(new byte[5000]));
        Assert.Equal(1024, new ConsoleBackend(page).Write(new byte[5000]));
    }

    [Fact]
    public void Newline_translation_writes_crlf_and_never_splits_the_pair()
    {
        byte[] page = new byte[ConsoleLayout.PageSize];
        var front = new ConsoleFrontend(page);
        front.Output.Write(new byte[2045]); // 3 bytes of room left
        Assert.Equal(2, front.WriteTranslatingNewlines("a\n\n"u8)); // "a" + "\r\n" fill it; the second \n does not fit
        byte[] all = new byte[2048];
        new ConsoleBackend(page).Read(all);
        Assert.Equal("a\r\n"u8.ToArray(), all[2045..]);
    }

    [Fact]
    public void Connection_byte_is_written_by_the_backend_and_read_by_the_guest()
    {
        byte[] page = new byte[ConsoleLayout.PageSize];
        Assert.True(new ConsoleFrontend(page).IsBackendConnected);
        new ConsoleBackend(page).SetConnected(false);
        Assert.Equal(1, page[ConsoleLayout.ConnectionOffset]);
        Assert.False(new ConsoleFrontend(page).IsBackendConnected);
    }

    [Fact]
    public void A_page_too_small_for_the_interface_is_an_argument_error()
    {
        Assert.Throws<ArgumentException>(() => new ConsoleFrontend(new byte[3000]));
        Assert.Throws<ArgumentException>(() => new ConsoleBackend(new byte[3088]));
    }

    [Fact]
    public void A_guest_that_corrupts_out_prod_gets_the_backend_a_ring_corrupted_error_not_a_wild_read()
    {
        byte[] page = new byte[ConsoleLayout.PageSize];
        BitConverter.TryWriteBytes(page.AsSpan(ConsoleLayout.OutProdOffset), 4096u);
        var e = Assert.Throws<RingCorruptedException>(() => new ConsoleBackend(page).Read(new byte[16]));
        Assert.Equal("out", e.RingName);
        Assert.Equal(2048u, e.Capacity);
    }
}
