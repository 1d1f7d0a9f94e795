using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Xen.Store.Server.Durability;

/// <summary>
/// The files of a state directory: <c>snapshot</c> (a magic line, then one frame holding the whole state as of its
/// sequence number) and the journal segments <c>journal-&lt;first sequence number, 16 hex digits&gt;</c>, each a run of
/// frames (<see cref="JournalFrame"/>) numbered on from the one before.
/// </summary>
internal static partial class JournalFiles
{
    public const string SnapshotName = "snapshot";
    public const string SegmentPrefix = "journal-";

    /// <summary>The first line of a snapshot; the format's version is its last word.</summary>
    public static ReadOnlySpan<byte> SnapshotMagic => "xen-protocols xenstore state 1\n"u8;

    /// <summary>The segments in a directory, by first sequence number.</summary>
    public static List<(ulong FirstLsn, string Path)> Segments(string directory)
    {
        var segments = new List<(ulong, string)>();
        foreach (string path in Directory.EnumerateFiles(directory, SegmentPrefix + "*"))
        {
            string hex = Path.GetFileName(path)[SegmentPrefix.Length..];
            if (hex.Length == 16 && ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong first))
            {
                segments.Add((first, path));
            }
        }

        segments.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return segments;
    }

    public static string SegmentPath(string directory, ulong firstLsn) =>
        Path.Combine(directory, SegmentPrefix + firstLsn.ToString("x16", CultureInfo.InvariantCulture));

    /// <summary>Creates an empty segment (replacing a leftover of that name, which holds nothing recovery kept).</summary>
    public static SafeFileHandle CreateSegment(string directory, ulong firstLsn)
    {
        SafeFileHandle h = File.OpenHandle(SegmentPath(directory, firstLsn), FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
        SyncDirectory(directory);
        return h;
    }

    /// <summary>Replaces the snapshot: a temporary file, flushed, renamed over the old one, and the rename flushed.</summary>
    public static void WriteSnapshot(string directory, ReadOnlySpan<byte> frame)
    {
        string final = Path.Combine(directory, SnapshotName);
        string temporary = final + ".tmp";
        using (SafeFileHandle h = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            RandomAccess.Write(h, SnapshotMagic, 0);
            RandomAccess.Write(h, frame, SnapshotMagic.Length);
            RandomAccess.FlushToDisk(h);
        }

        File.Move(temporary, final, overwrite: true);
        SyncDirectory(directory);
    }

    /// <summary>Deletes the segments whose records all come before <paramref name="lsn"/> (a snapshot holds them).</summary>
    public static void DeleteSegmentsBefore(string directory, ulong lsn)
    {
        var segments = Segments(directory);
        for (int i = 0; i < segments.Count; i++)
        {
            bool covered = i + 1 < segments.Count && segments[i + 1].FirstLsn <= lsn; // a segment ends where the next begins
            if (covered)
            {
                File.Delete(segments[i].Path);
            }
        }
    }

    /// <summary>Flushes a directory's entries (a created, renamed or deleted file), where the platform has <c>fsync</c> on directories.</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        int fd = Open(directory, ORdOnly | ODirectory | OCloExec);
        if (fd < 0)
        {
            throw new IOException($"Cannot open {directory} to flush it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (FSync(fd) != 0)
            {
                throw new IOException($"Cannot flush {directory} (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private const int ORdOnly = 0;
    private const int ODirectory = 0x10000;
    private const int OCloExec = 0x80000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
