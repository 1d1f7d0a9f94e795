using Xen.Rings.Console;
using Xen.Rings.Events;

namespace Xen.Rings.Tests;

public sealed class ConsoleDriverTests : IDisposable
{
    private readonly byte[] _page = new byte[ConsoleLayout.PageSize];
    private readonly InProcessEventChannel _guestChannel;
    private readonly InProcessEventChannel _backendChannel;

    public ConsoleDriverTests() => (_guestChannel, _backendChannel) = InProcessEventChannel.CreatePair();

    public void Dispose()
    {
        _guestChannel.Dispose();
        _backendChannel.Dispose();
    }

    private byte[] DrainBackend()
    {
        byte[] buf = new byte[4096];
        int n = new ConsoleBackend(_page).Read(buf);
        _backendChannel.Notify();
        return buf[..n];
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3000, 4096)]
    [InlineData(4096, 4096)]
    [InlineData(5000, 8192)]
    public void The_transmit_buffer_rounds_up_to_a_power_of_two(int requested, int actual)
    {
        using var driver = new ConsoleDriver(_page, _guestChannel, new ConsoleDriverOptions { TransmitBufferSize = requested });
        Assert.Equal(actual, driver.TransmitBufferSize);
        Assert.Equal(actual, driver.WriteRoom);
    }

    [Fact]
    public void Output_beyond_the_ring_waits_in_the_buffer_and_is_flushed_when_the_backend_frees_space()
    {
        using var driver = new ConsoleDriver(_page, _guestChannel);
        byte[] data = Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray();
        Assert.Equal(3000, driver.Write(data));
        Assert.Equal(3000 - 2048, driver.CharsInBuffer); // the ring took 2048
        Assert.Equal(4096 - (3000 - 2048), driver.WriteRoom);

        byte[] first = DrainBackend();                  // frees the ring and notifies the guest
        Assert.Equal(data[..2048], first);
        SpinWait.SpinUntil(() => driver.CharsInBuffer == 0, TimeSpan.FromSeconds(60));
        Assert.Equal(0, driver.CharsInBuffer);
        Assert.Equal(data[2048..], DrainBackend());
    }

    [Fact]
    public void Write_accepts_only_the_write_room()
    {
        using var driver = new ConsoleDriver(_page, _guestChannel, new ConsoleDriverOptions { TransmitBufferSize = 16 });
        Assert.Equal(16, driver.Write(new byte[5000])); // the room, then those 16 move on to the ring
        int total = 16;
        int n;
        while ((n = driver.Write(new byte[5000])) != 0)
        {
            total += n;
        }

        Assert.Equal(2048 + 16, total);                 // the ring, then the buffer, are full
        Assert.Equal(0, driver.WriteRoom);
        Assert.Equal(0, driver.Write(new byte[1]));
        Assert.False(driver.PutChar(1));
    }

    [Fact]
    public async Task WriteAsync_delivers_everything_in_order_while_the_backend_reads_slowly()
    {
        using var driver = new ConsoleDriver(_page, _guestChannel, new ConsoleDriverOptions { TransmitBufferSize = 64 });
        byte[] data = Enumerable.Range(0, 20000).Select(i => (byte)(i * 7)).ToArray();
        Task writing = driver.WriteAsync(data).AsTask();
        var received = new List<byte>();
        while (true)
        {
            received.AddRange(DrainBackend());
            if (received.Count >= data.Length)
            {
                break;
            }

            await _backendChannel.WaitAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }

        await writing.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(data, received);
    }

    [Fact]
    public void Newline_translation_turns_lf_into_crlf()
    {
        using var driver = new ConsoleDriver(_page, _guestChannel, new ConsoleDriverOptions { TranslateNewlines = true });
        Assert.Equal(6, driver.Write("a\nb\n\nc"u8));
        Assert.Equal("a\r\nb\r\n\r\nc"u8.ToArray(), DrainBackend());
    }

    [Fact]
    public void A_flow_control_character_overtakes_buffered_output()
    {
        using var driver = new ConsoleDriver(_page, _guestChannel);
        driver.Write(new byte[2048]);          // fills the ring
        driver.Write("queued"u8);              // waits in the buffer
        driver.Throttle();                     // XOFF cannot go out yet either
        byte[] first = DrainBackend();
        Assert.Equal(2048, first.Length);
        SpinWait.SpinUntil(() => driver.CharsInBuffer == 0, TimeSpan.FromSeconds(60));
        Assert.Equal("\u0013queued"u8.ToArray(), DrainBackend());
    }

    [Fact]
    public void Unthrottle_cancels_a_stop_not_yet_sent_and_otherwise_sends_start()
    {
        using var driver = new ConsoleDriver(_page, _guestChannel);
        driver.Write(new byte[2048]);
        driver.Throttle();
        driver.Unthrottle();                  // the XOFF never left: both cancel out
        DrainBackend();
        driver.Flush();
        Assert.Empty(DrainBackend());

        driver.Throttle();                    // goes out at once now
        driver.Unthrottle();
        Assert.Equal(new byte[] { 0x13, 0x11 }, DrainBackend());
    }

    [Fact]
    public void DiscardBuffer_drops_what_has_not_reached_the_ring()
    {
        using var driver = new ConsoleDriver(_page, _guestChannel);
        driver.Write(new byte[2100]);
        driver.DiscardBuffer();
        Assert.Equal(0, driver.CharsInBuffer);
        DrainBackend();
        driver.Flush();
        Assert.Empty(DrainBackend());
    }

    [Fact]
    public void Input_is_read_and_the_magic_sysrq_sequence_is_reported_instead_of_passed_on()
    {
        var clock = new ManualClock();
        var keys = new List<byte>();
        using var driver = new ConsoleDriver(_page, _guestChannel, new ConsoleDriverOptions { SysRqHandler = keys.Add, TimeProvider = clock });
        new ConsoleBackend(_page).Write("ab\u000Fhcd"u8);
        byte[] buf = new byte[16];
        int n = driver.Read(buf);
        Assert.Equal("abcd"u8.ToArray(), buf[..n]);
        Assert.Equal([(byte)'h'], keys);
        Assert.Equal(0, new ConsoleBackend(_page).Input.BytesAvailable);
    }

    [Fact]
    public void A_key_more_than_two_seconds_after_ctrl_o_is_ordinary_input()
    {
        var clock = new ManualClock();
        var keys = new List<byte>();
        using var driver = new ConsoleDriver(_page, _guestChannel, new ConsoleDriverOptions { SysRqHandler = keys.Add, TimeProvider = clock });
        new ConsoleBackend(_page).Write("\u000F"u8);
        byte[] buf = new byte[16];
        Assert.Equal(0, driver.Read(buf));
        clock.Advance(TimeSpan.FromSeconds(2.5));
        new ConsoleBackend(_page).Write("x"u8);
        Assert.Equal(1, driver.Read(buf));
        Assert.Equal((byte)'x', buf[0]);
        Assert.Empty(keys);
    }

    [Fact]
    public void Without_a_sysrq_handler_ctrl_o_is_ordinary_input()
    {
        using var driver = new ConsoleDriver(_page, _guestChannel);
        new ConsoleBackend(_page).Write("\u000Fh"u8);
        byte[] buf = new byte[16];
        Assert.Equal(2, driver.Read(buf));
    }

    [Fact]
    public async Task ReadAsync_wakes_on_the_backend_notification()
    {
        using var driver = new ConsoleDriver(_page, _guestChannel);
        byte[] buf = new byte[16];
        ValueTask<int> pending = driver.ReadAsync(buf);
        Assert.False(pending.IsCompleted);
        new ConsoleBackend(_page).Write("typed"u8);
        _backendChannel.Notify();
        int n = await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("typed"u8.ToArray(), buf[..n]);
    }

    [Fact]
    public async Task ForceFlush_pushes_everything_while_a_backend_consumes_and_reports_failure_when_none_does()
    {
        using var driver = new ConsoleDriver(_page, _guestChannel, new ConsoleDriverOptions { TransmitBufferSize = 8192 });
        driver.Write(new byte[6000]);
        Assert.False(driver.ForceFlush(TimeSpan.FromMilliseconds(50)));
        using var cts = new CancellationTokenSource();
        var reader = Task.Run(() =>
        {
            while (!cts.IsCancellationRequested)
            {
                new ConsoleBackend(_page).Read(new byte[4096]);
            }
        });
        Assert.True(driver.ForceFlush(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, driver.CharsInBuffer);
        await cts.CancelAsync();
        await reader;
    }

    [Fact]
    public async Task A_backend_that_corrupts_the_ring_fails_pending_writes_with_the_ring_error()
    {
        using var driver = new ConsoleDriver(_page, _guestChannel);
        driver.Write(new byte[2048]);
        Task writing = driver.WriteAsync(new byte[8192]).AsTask();
        BitConverter.TryWriteBytes(_page.AsSpan(ConsoleLayout.OutConsOffset), 0x12345678u);
        _backendChannel.Notify();
        await Assert.ThrowsAsync<RingCorruptedException>(() => writing.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
