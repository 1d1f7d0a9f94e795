using System.Globalization;

namespace Xen.Consoled;

/// <summary>
/// One guest's log file (<c>&lt;log dir&gt;/guest-&lt;name&gt;.log</c>, appended, mode 0644), written as xenconsoled
/// writes it: the bytes as the guest sent them, or with ESC replaced by <c>.</c> (<c>--replace-escape</c>); with
/// timestamps, <c>[YYYY-MM-DD HH:MM:SS] </c> (local time) before the first byte of each line, and the <c>\r</c>s right
/// after a newline dropped. Opening it with timestamps writes a stamped <c>Logfile Opened</c> line.
/// </summary>
/// <remarks>
/// The "line start" state is per log; xenconsoled keeps one for all guests together, so with timestamps on and several
/// guests printing partial lines at once its stamps can land mid-line, and ours do not.
/// </remarks>
internal sealed class GuestLog : IDisposable
{
    private const byte Escape = 0x1b;
    private readonly FileStream _file;
    private readonly bool _timestamps;
    private readonly bool _replaceEscape;
    private readonly TimeProvider _clock;
    private bool _atLineStart = true;

    private GuestLog(string path, FileStream file, bool timestamps, bool replaceEscape, TimeProvider clock)
    {
        Path = path;
        _file = file;
        _timestamps = timestamps;
        _replaceEscape = replaceEscape;
        _clock = clock;
    }

    public string Path { get; }

    /// <summary>The log file name xenconsoled uses for a guest named <paramref name="name"/>.</summary>
    public static string FileName(string name) => $"guest-{name}.log";

    /// <exception cref="IOException">The file could not be opened.</exception>
    /// <exception cref="UnauthorizedAccessException">The file could not be opened.</exception>
    public static GuestLog Open(string directory, string name, bool timestamps, bool replaceEscape, TimeProvider clock)
    {
        string path = System.IO.Path.Combine(directory, FileName(name));
        var fileOptions = new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead; // 0644
        }

        var file = new FileStream(path, fileOptions);
        var log = new GuestLog(path, file, timestamps, replaceEscape, clock);
        if (timestamps)
        {
            log.Write("Logfile Opened\n"u8);
        }

        return log;
    }

    /// <summary>Appends guest output (one write call per piece, as the bytes arrive: nothing is held back).</summary>
    /// <exception cref="IOException">The write failed.</exception>
    public void Write(ReadOnlySpan<byte> data)
    {
        if (!_timestamps)
        {
            WriteRaw(data);
            return;
        }

        Span<byte> stamp = stackalloc byte[32];
        int stampLength = 0;
        while (!data.IsEmpty)
        {
            int newline = data.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = newline < 0 ? data : data[..(newline + 1)];
            if (_atLineStart)
            {
                if (stampLength == 0)
                {
                    stampLength = Stamp(stamp);
                }

                _file.Write(stamp[..stampLength]);
            }

            WriteRaw(line);
            _atLineStart = newline >= 0;
            data = data[line.Length..];
            if (newline >= 0)
            {
                int carriageReturns = 0;
                while (carriageReturns < data.Length && data[carriageReturns] == (byte)'\r')
                {
                    carriageReturns++;
                }

                data = data[carriageReturns..];
            }
        }
    }

    public void Dispose() => _file.Dispose();

    private int Stamp(Span<byte> destination)
    {
        DateTimeOffset now = _clock.GetLocalNow();
        return System.Text.Encoding.ASCII.GetBytes(now.ToString("[yyyy-MM-dd HH:mm:ss] ", CultureInfo.InvariantCulture), destination);
    }

    private void WriteRaw(ReadOnlySpan<byte> data)
    {
        if (!_replaceEscape || data.IndexOf(Escape) < 0)
        {
            _file.Write(data);
            return;
        }

        Span<byte> chunk = stackalloc byte[1024];
        while (!data.IsEmpty)
        {
            int n = Math.Min(chunk.Length, data.Length);
            data[..n].CopyTo(chunk);
            chunk[..n].Replace(Escape, (byte)'.');
            _file.Write(chunk[..n]);
            data = data[n..];
        }
    }
}
