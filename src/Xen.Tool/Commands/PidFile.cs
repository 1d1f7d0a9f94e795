using System.Globalization;
using System.Runtime.Versioning;
using System.Text;

namespace Xen.Tool.Commands;

/// <summary>
/// A daemon's pid file, held locked for the process's life as C xenstored's <c>write_pidfile</c> holds it, so a second
/// daemon started with the same file sees the first and leaves quietly.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class PidFile : IDisposable
{
    private readonly FileStream _stream;

    private PidFile(FileStream stream) => _stream = stream;

    /// <summary>Writes this process's pid to <paramref name="path"/> (mode 0600 when new); null when another process holds it.</summary>
    /// <exception cref="IOException">The file could not be created or written.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be written.</exception>
    public static PidFile? TryAcquire(string path)
    {
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite, // no flock: the lock that counts is the fcntl one below, C's lockf
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        try
        {
            stream.Lock(0, 0); // F_SETLK of the whole file, what lockf(fd, F_TLOCK, 0) takes: C xenstored sees it too
        }
        catch (IOException)
        {
            stream.Dispose();
            return null;
        }

        byte[] text = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
        stream.SetLength(0);
        stream.Write(text);
        stream.Flush();
        return new PidFile(stream);
    }

    public void Dispose() => _stream.Dispose();
}
