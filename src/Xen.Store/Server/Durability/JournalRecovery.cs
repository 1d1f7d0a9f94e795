using Microsoft.Win32.SafeHandles;

namespace Xen.Store.Server.Durability;

/// <summary>
/// Reading a state directory at start: the snapshot, then every journal record after it in sequence, stopping at the
/// first that is not whole and intact (a crash mid-write) or out of sequence. What follows that point is cut off the
/// file (and later segments deleted), so the next record written follows the last one applied.
/// </summary>
internal sealed class JournalRecovery
{
    private readonly string _directory;
    private string? _appendPath;
    private long _appendLength;
    private ulong _appendFirst;

    private JournalRecovery(string directory) => _directory = directory;

    public XenStoreRecovery Summary { get; private set; } = new();

    /// <summary>The sequence number of the last record applied (the snapshot's when no record follows it).</summary>
    public ulong LastLsn { get; private set; }

    /// <summary>The bytes of the journal records applied after the snapshot.</summary>
    public long JournalBytes { get; private set; }

    /// <summary>The size of the snapshot file's frame (0 without one).</summary>
    public long SnapshotBytes { get; private set; }

    /// <exception cref="InvalidDataException">The snapshot is damaged.</exception>
    public static JournalRecovery Read(string directory, StoreRecord.ITarget target)
    {
        Directory.CreateDirectory(directory);
        File.Delete(Path.Combine(directory, JournalFiles.SnapshotName + ".tmp")); // a compaction that did not finish
        var recovery = new JournalRecovery(directory);
        recovery.ReadAll(target);
        return recovery;
    }

    /// <summary>The segment new records go to: the last one read (cut at its last whole record), or a new one.</summary>
    public (SafeFileHandle Handle, long Length) OpenAppendSegment()
    {
        if (_appendPath is { } path)
        {
            return (File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read), _appendLength);
        }

        return (JournalFiles.CreateSegment(_directory, LastLsn + 1), 0);
    }

    private void ReadAll(StoreRecord.ITarget target)
    {
        string snapshotPath = Path.Combine(_directory, JournalFiles.SnapshotName);
        ulong snapshotLsn = 0;
        if (File.Exists(snapshotPath))
        {
            byte[] bytes = File.ReadAllBytes(snapshotPath);
            int magic = JournalFiles.SnapshotMagic.Length;
            if (!bytes.AsSpan().StartsWith(JournalFiles.SnapshotMagic) ||
                !JournalFrame.TryRead(bytes.AsSpan(magic), out snapshotLsn, out ReadOnlySpan<byte> payload, out int frameLength) ||
                magic + frameLength != bytes.Length)
            {
                throw new InvalidDataException($"The xenstore snapshot {snapshotPath} is damaged (it is written whole and renamed into place, so this is not a crash's doing).");
            }

            StoreRecord.Apply(bytes, magic + JournalFrame.HeaderLength, payload.Length, target);
            SnapshotBytes = frameLength;
        }

        ulong expected = snapshotLsn + 1;
        int records = 0;
        long cutBytes = 0;
        int droppedSegments = 0;
        bool damaged = false;
        foreach (var (first, path) in JournalFiles.Segments(_directory))
        {
            if (damaged)
            {
                // Records after a damaged one cannot be applied without it: they go, and so does their file.
                cutBytes += new FileInfo(path).Length;
                File.Delete(path);
                droppedSegments++;
                continue;
            }

            byte[] bytes = File.ReadAllBytes(path);
            int at = 0;
            while (at < bytes.Length)
            {
                if (!JournalFrame.TryRead(bytes.AsSpan(at), out ulong lsn, out ReadOnlySpan<byte> payload, out int frameLength) || lsn > expected)
                {
                    damaged = true;
                    break;
                }

                if (lsn == expected)
                {
                    if (!StoreRecord.IsValid(bytes, at + JournalFrame.HeaderLength, payload.Length))
                    {
                        damaged = true; // an intact checksum over nonsense: damage all the same, cut before any of it is applied
                        break;
                    }

                    StoreRecord.Apply(bytes, at + JournalFrame.HeaderLength, payload.Length, target);

                    expected++;
                    records++;
                    JournalBytes += frameLength;
                }

                at += frameLength; // a record the snapshot already holds is skipped
            }

            if (damaged)
            {
                cutBytes += bytes.Length - at;
                using (SafeFileHandle h = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
                {
                    RandomAccess.SetLength(h, at);
                    RandomAccess.FlushToDisk(h);
                }
            }

            _appendPath = path;
            _appendFirst = first;
            _appendLength = at;
        }

        LastLsn = expected - 1;
        if (_appendFirst > expected)
        {
            _appendPath = null; // the last segment starts past the records kept (it lies about its first): start a fresh one
        }

        Summary = new XenStoreRecovery
        {
            FromSnapshot = SnapshotBytes > 0,
            SnapshotSequence = snapshotLsn,
            RecordsReplayed = records,
            LastSequence = LastLsn,
            DiscardedBytes = cutBytes,
            DiscardedSegments = droppedSegments,
        };
    }
}
