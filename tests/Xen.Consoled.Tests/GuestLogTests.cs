using System.Text;

namespace Xen.Consoled.Tests;

/// <summary>
/// <see cref="GuestLog"/>: xenconsoled's log rules with a fixed clock (the interop tests compare the same rules with
/// xenconsoled itself, with the stamps masked).
/// </summary>
public sealed class GuestLogTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("guest-log-").FullName;
    private readonly FixedClock _clock = new(new DateTimeOffset(2026, 12, 7, 8, 9, 10, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Timestamps_start_every_line_and_the_carriage_returns_after_a_newline_are_dropped()
    {
        string log = Write(timestamps: true, replaceEscape: false, "boot\r\n", "half a ", "line\n\r\r\nnext");
        Assert.Equal(
            "[2026-12-07 08:09:10] Logfile Opened\n" +
            "[2026-12-07 08:09:10] boot\r\n" +
            "[2026-12-07 08:09:10] half a line\n" +
            "[2026-12-07 08:09:10] \n" +
            "[2026-12-07 08:09:10] next",
            log);
    }

    [Fact]
    public void A_line_split_over_writes_is_stamped_once_with_the_time_its_first_byte_came()
    {
        using (GuestLog log = GuestLog.Open(_directory, "g", timestamps: true, replaceEscape: false, _clock))
        {
            log.Write("start of "u8);
            _clock.Now = _clock.Now.AddSeconds(5);
            log.Write("a line\nsecond\n"u8);
        }

        Assert.Equal(
            "[2026-12-07 08:09:10] Logfile Opened\n[2026-12-07 08:09:10] start of a line\n[2026-12-07 08:09:15] second\n",
            File.ReadAllText(Path.Combine(_directory, "guest-g.log")));
    }

    [Fact]
    public void Without_timestamps_the_bytes_are_written_as_the_guest_sent_them()
    {
        Assert.Equal("a\r\n\r\rb\x1b[0m\n", Write(timestamps: false, replaceEscape: false, "a\r\n\r\rb\x1b[0m\n"));
    }

    [Fact]
    public void Replace_escape_writes_ESC_as_a_dot_and_nothing_else_changes()
    {
        string escapes = new('\x1b', 3000); // more than the 1024-byte chunk the replacement works in
        Assert.Equal("x" + new string('.', 3000) + "[1mbold\n", Write(timestamps: false, replaceEscape: true, "x" + escapes + "[1mbold\n"));
    }

    [Fact]
    public void Opening_appends_to_an_existing_log_and_the_file_name_is_xenconsoleds()
    {
        File.WriteAllText(Path.Combine(_directory, "guest-web.log"), "earlier\n");
        using (GuestLog log = GuestLog.Open(_directory, "web", timestamps: false, replaceEscape: false, _clock))
        {
            log.Write("later\n"u8);
        }

        Assert.Equal("guest-web.log", GuestLog.FileName("web"));
        Assert.Equal("earlier\nlater\n", File.ReadAllText(Path.Combine(_directory, "guest-web.log")));
    }

    private string Write(bool timestamps, bool replaceEscape, params string[] pieces)
    {
        using (GuestLog log = GuestLog.Open(_directory, "t", timestamps, replaceEscape, _clock))
        {
            foreach (string piece in pieces)
            {
                log.Write(Encoding.Latin1.GetBytes(piece));
            }
        }

        return Encoding.Latin1.GetString(File.ReadAllBytes(Path.Combine(_directory, "guest-t.log")));
    }
}
