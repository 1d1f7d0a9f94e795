using System.Globalization;
using System.Text;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// The request/reply trace of C xenstored's <c>--trace-file</c>, line for line: <c>IN</c>/<c>OUT</c>, the connection,
/// the local time, the message type and its payload with each NUL shown as a space
/// (<c>IN 0x3 20261204 06:30:00 READ (/local/domain/5/name )</c>), plus a <c>CREATE connection</c> and
/// <c>DESTROY connection</c> line as each connection comes and goes. Each line is one <c>write</c> to a file opened
/// for appending, so a trace survives a crash up to its last line and tools that tail it see whole lines.
/// </summary>
internal sealed class StoreTrace : IDisposable
{
    private static readonly string[] TypeNames = BuildTypeNames();
    private readonly object _gate = new();
    private string? _path;
    private FileStream? _file; // null while the trace is off

    /// <summary>A trace to <paramref name="path"/>, opened now; with null, off until <see cref="SwitchTo"/> names a file.</summary>
    /// <exception cref="IOException">The file could not be opened.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be written.</exception>
    public StoreTrace(string? path)
    {
        _path = path;
        Reopen();
    }

    /// <summary>Whether lines are written now.</summary>
    public bool IsOn => Volatile.Read(ref _file) is not null;

    /// <summary>
    /// (Re)opens the file (after log rotation moved it away: SIGHUP; CONTROL <c>log on</c>), writing C's <c>***</c> mark;
    /// nothing when no file was ever named, as in C.
    /// </summary>
    /// <exception cref="IOException">The file could not be opened; the trace is then off.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be written; the trace is then off.</exception>
    public void Reopen()
    {
        lock (_gate)
        {
            if (_path is null)
            {
                return;
            }

            CloseFile();
            Volatile.Write(ref _file, Open(_path));
        }

        Write("\n***\n"u8.ToArray()); // C xenstored's mark at each (re)open
    }

    /// <summary>Stops writing (CONTROL <c>log off</c>); the file stays named for <see cref="Reopen"/>.</summary>
    public void Close()
    {
        lock (_gate)
        {
            CloseFile();
        }
    }

    /// <summary>Traces to <paramref name="path"/> from now on (CONTROL <c>logfile</c>).</summary>
    /// <exception cref="IOException">The file could not be opened; the trace is then off.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be written; the trace is then off.</exception>
    public void SwitchTo(string path)
    {
        lock (_gate)
        {
            CloseFile();
            _path = path;
        }

        Reopen();
    }

    /// <summary>Appends <paramref name="text"/> to the trace file, or to <paramref name="path"/> when given (CONTROL <c>memreport</c>).</summary>
    /// <returns>False when there is nowhere to write (no file given and the trace names none) or the file cannot be opened.</returns>
    public bool Report(string text, string? path)
    {
        string? target = path ?? _path;
        if (target is null)
        {
            return false;
        }

        try
        {
            using FileStream file = Open(target);
            file.Write(Encoding.ASCII.GetBytes(text));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>One message in (<paramref name="output"/> false) or out.</summary>
    public void Io(bool output, ServerConnection connection, XsMessageType type, ReadOnlySpan<byte> payload)
    {
        if (!IsOn)
        {
            return;
        }

        string head = string.Create(CultureInfo.InvariantCulture,
            $"{(output ? "OUT" : "IN")} 0x{connection.TraceId:x} {DateTime.Now:yyyyMMdd HH:mm:ss} {TypeName(type)} (");
        byte[] line = new byte[head.Length + payload.Length + 2];
        int n = Encoding.ASCII.GetBytes(head, line);
        foreach (byte b in payload)
        {
            line[n++] = b == 0 ? (byte)' ' : b;
        }

        line[n++] = (byte)')';
        line[n] = (byte)'\n';
        Write(line);
    }

    /// <summary>A connection's birth or end.</summary>
    public void Connection(bool created, ServerConnection connection)
    {
        if (IsOn)
        {
            Write(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"{(created ? "CREATE" : "DESTROY")} connection 0x{connection.TraceId:x}\n")));
        }
    }

    public void Dispose() => Close();

    private void CloseFile()
    {
        Volatile.Read(ref _file)?.Dispose();
        Volatile.Write(ref _file, null);
    }

    /// <summary>C xenstored's name of the type (<c>TRANSACTION_START</c>), <c>**UNKNOWN**</c> for a number it has none for.</summary>
    internal static string TypeName(XsMessageType type) =>
        (uint)type < (uint)TypeNames.Length && TypeNames[(int)type] is { } name ? name : "**UNKNOWN**";

    private void Write(byte[] line)
    {
        lock (_gate)
        {
            try
            {
                _file?.Write(line);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // A full disk or a closed trace must not fail a request: the trace is a diagnostic, as in C.
            }
        }
    }

    private static FileStream Open(string path)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = 0, // one write() per line
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // 0600, as C xenstored opens it
        }

        return new FileStream(path, options);
    }

    private static string[] BuildTypeNames()
    {
        var names = new string[(int)XsMessageType.SetQuota + 1];
        foreach (XsMessageType type in Enum.GetValues<XsMessageType>())
        {
            if ((uint)type < (uint)names.Length && type != XsMessageType.Invalid)
            {
                var snake = new StringBuilder();
                foreach (char c in type.ToString())
                {
                    if (char.IsUpper(c) && snake.Length > 0)
                    {
                        snake.Append('_');
                    }

                    snake.Append(char.ToUpperInvariant(c));
                }

                names[(int)type] = snake.ToString();
            }
        }

        return names;
    }
}
