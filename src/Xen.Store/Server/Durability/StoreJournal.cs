using Microsoft.Win32.SafeHandles;

namespace Xen.Store.Server.Durability;

/// <summary>
/// The state directory while the server runs: appends each change's record to the current journal segment, tells
/// connections when the messages they hold may leave, flushes for <see cref="XenStoreDurability.Fsync"/>, and
/// replaces the journal with a snapshot when it has grown.
/// </summary>
/// <remarks>
/// <para>
/// Design. Every stretch of work under the engine's lock is a ticket (<see cref="Begin"/> .. <see cref="End"/>); a
/// message queued during it carries the ticket, and a connection sends it only once <see cref="DurableTicket"/> has
/// reached it. So a reply leaves only after the record of its request is kept, and so does anything queued after it
/// (a read that sees the change, a watch event): no client can see a change that a crash could take back. The record
/// is written with <c>write(2)</c> under the engine's lock, so records are in the file in the order the changes were
/// made; at <see cref="XenStoreDurability.Write"/> a ticket is kept as soon as its write returns. At
/// <see cref="XenStoreDurability.Fsync"/> one flusher thread loops: take the last record written, <c>fsync</c>, mark
/// every ticket ended by then kept. Requests that arrive during one flush share the next (group commit), and the engine's
/// lock is never held across a flush.
/// </para>
/// <para>
/// Compaction. Once the segments since the snapshot outgrow <see cref="XenStoreServerOptions.CompactAfterBytes"/> (and the
/// last snapshot), the engine serialises its whole state under its lock and the journal starts a new segment; a
/// background task writes the snapshot to a temporary file, flushes it, renames it over the old one and only then
/// deletes the segments it replaces. A crash at any point leaves either the old snapshot with every segment, or the
/// new one with (possibly) some segments whose records it already holds, which recovery skips.
/// </para>
/// </remarks>
internal sealed class StoreJournal : IDisposable
{
    private readonly string _directory;
    private readonly XenStoreDurability _level;
    private readonly long _compactAfterBytes;
    private readonly object _gate = new(); // the fields below that the flusher shares
    private readonly List<ServerConnection> _waiters = [];
    private readonly List<SafeFileHandle> _rotatedUnsynced = [];
    private readonly Thread? _flusher;
    private readonly MemoryStream _record = new();
    private readonly BinaryWriter _recordWriter;
    private readonly TaskCompletionSource _faulted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SafeFileHandle _segment;
    private long _segmentLength;
    private ulong _lastLsn;
    private ulong _syncedLsn;
    private long _ticket;
    private long _endedTicket;
    private long _durableTicket;
    private long _bytesSinceSnapshot;
    private long _lastSnapshotBytes;
    private volatile bool _compacting;
    private Task _compaction = Task.CompletedTask;
    private bool _disposed;

    private StoreJournal(string directory, XenStoreDurability level, long compactAfterBytes, JournalRecovery recovery)
    {
        _directory = directory;
        _level = level;
        _compactAfterBytes = compactAfterBytes;
        _recordWriter = new BinaryWriter(_record, Wire.XsText.Latin1, leaveOpen: true);
        _lastLsn = _syncedLsn = recovery.LastLsn;
        _bytesSinceSnapshot = recovery.JournalBytes;
        _lastSnapshotBytes = recovery.SnapshotBytes;
        (_segment, _segmentLength) = recovery.OpenAppendSegment();
        if (level == XenStoreDurability.Fsync)
        {
            _flusher = new Thread(FlushLoop) { IsBackground = true, Name = "xenstore journal flush" };
            _flusher.Start();
        }
    }

    /// <summary>Completes, faulted, when a record could not be written: from then on nothing more is acknowledged.</summary>
    public Task Faulted => _faulted.Task;

    /// <summary>The ticket of the work under the engine's lock now (or last): what a message queued now waits for.</summary>
    public long CurrentTicket => Volatile.Read(ref _ticket);

    /// <summary>Every message with a ticket up to this one may be sent.</summary>
    public long DurableTicket => Volatile.Read(ref _durableTicket);

    /// <summary>Whether the journal has outgrown its snapshot and no compaction is running (read under the engine's lock).</summary>
    public bool WantsCompaction =>
        !_compacting && Faulted.Exception is null && _bytesSinceSnapshot > Math.Max(_compactAfterBytes, _lastSnapshotBytes);

    /// <summary>Opens (creating it if needed) a state directory and reads what it holds into <paramref name="target"/>.</summary>
    /// <exception cref="InvalidDataException">The snapshot is damaged (a journal's damaged tail is cut, not an error).</exception>
    /// <exception cref="IOException">The directory cannot be read or written.</exception>
    public static StoreJournal Open(XenStoreServerOptions options, StoreRecord.ITarget target, out XenStoreRecovery recovered)
    {
        string directory = Path.GetFullPath(options.StateDirectory!);
        var recovery = JournalRecovery.Read(directory, target);
        recovered = recovery.Summary;
        return new StoreJournal(directory, options.Durability, options.CompactAfterBytes, recovery);
    }

    /// <summary>Starts a ticket (under the engine's lock).</summary>
    public void Begin() => Volatile.Write(ref _ticket, _ticket + 1);

    /// <summary>Starts the next record (under the engine's lock): write its operations (<see cref="StoreRecord"/>), then <see cref="AppendRecord"/>.</summary>
    public BinaryWriter StartRecord()
    {
        _record.SetLength(0);
        _recordWriter.Write(stackalloc byte[JournalFrame.HeaderLength]);
        return _recordWriter;
    }

    /// <summary>Writes the record <see cref="StartRecord"/> began.</summary>
    public void AppendRecord()
    {
        _recordWriter.Flush();
        Append(_record.GetBuffer().AsSpan(0, (int)_record.Length));
        if (_record.Capacity > 1 << 20)
        {
            _record.SetLength(0);
            _record.Capacity = 0; // one huge record (a large RM) does not pin its buffer
        }
    }

    /// <summary>
    /// Writes one record (under the engine's lock): <paramref name="frame"/> holds <see cref="JournalFrame.HeaderLength"/>
    /// bytes for the header, then the payload. A failed write faults the journal instead of throwing: the change is in
    /// memory but not kept, so its reply (and every later message) is never sent, and the server's owner restarts it.
    /// </summary>
    private void Append(Span<byte> frame)
    {
        if (Faulted.IsCompleted)
        {
            return;
        }

        ulong lsn = _lastLsn + 1;
        JournalFrame.Seal(frame, lsn);
        try
        {
            RandomAccess.Write(_segment, frame, _segmentLength);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            _faulted.TrySetException(new IOException($"The xenstore journal in {_directory} could not be written: {e.Message}", e));
            return;
        }

        _segmentLength += frame.Length;
        _bytesSinceSnapshot += frame.Length;
        lock (_gate)
        {
            _lastLsn = lsn;
        }
    }

    /// <summary>Ends the current ticket (under the engine's lock): it is kept now, or when the flusher next flushes.</summary>
    public void End()
    {
        ServerConnection[]? wake = null;
        lock (_gate)
        {
            _endedTicket = _ticket;
            if (Faulted.IsCompleted)
            {
                return;
            }

            if (_level == XenStoreDurability.Write || _lastLsn == _syncedLsn)
            {
                wake = MarkDurable(_ticket);
            }
            else
            {
                Monitor.Pulse(_gate);
            }
        }

        Wake(wake);
    }

    /// <summary>
    /// Called by a connection whose next message waits for a ticket not yet kept: the connection is woken (its
    /// <see cref="ServerConnection.OutputReady"/>) once it is. Returns false, registering nothing, when the ticket was
    /// kept meanwhile (then the caller looks again at once).
    /// </summary>
    public bool WaitFor(ServerConnection connection, long ticket)
    {
        lock (_gate)
        {
            if (ticket <= _durableTicket)
            {
                return false;
            }

            if (!_waiters.Contains(connection))
            {
                _waiters.Add(connection);
            }

            return true;
        }
    }

    /// <summary>
    /// Starts a compaction (under the engine's lock): <paramref name="snapshot"/> is the whole state as one frame (header
    /// space and payload), as of the last record written; the journal moves to a new segment and the snapshot is written
    /// in the background.
    /// </summary>
    public void Compact(byte[] snapshot, int length)
    {
        ulong lsn = _lastLsn;
        JournalFrame.Seal(snapshot.AsSpan(0, length), lsn);
        SafeFileHandle next;
        try
        {
            next = JournalFiles.CreateSegment(_directory, lsn + 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _faulted.TrySetException(new IOException($"The xenstore journal in {_directory} could not start a segment: {e.Message}", e));
            return;
        }

        lock (_gate)
        {
            if (_level == XenStoreDurability.Fsync)
            {
                _rotatedUnsynced.Add(_segment); // the flusher flushes and closes it before it marks anything later kept
            }
            else
            {
                _segment.Dispose();
            }

            _segment = next;
            _segmentLength = 0;
            _bytesSinceSnapshot = 0;
            _compacting = true;
        }

        _compaction = Task.Run(() => WriteSnapshot(snapshot, length, lsn));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            Monitor.PulseAll(_gate);
        }

        _flusher?.Join();
        _compaction.Wait(); // its files are whole before another server may open the directory
        lock (_gate)
        {
            foreach (SafeFileHandle h in _rotatedUnsynced)
            {
                h.Dispose();
            }

            _rotatedUnsynced.Clear();
            _segment.Dispose();
        }

        _recordWriter.Dispose();
        _record.Dispose();
    }

    /// <summary>
    /// Before a live update's exec (under the engine's lock, nothing more to come): a snapshot being written is
    /// finished, and with fsync durability what is written is flushed now, since the new process sends the replies
    /// that wait for it before its own journal could have. To the journal the exec is then a crash after a flush.
    /// </summary>
    /// <exception cref="IOException">The flush failed (the update is abandoned, as the flusher's failure faults the server).</exception>
    public void PrepareHandOver()
    {
        _compaction.Wait();
        if (_level != XenStoreDurability.Fsync)
        {
            return;
        }

        lock (_gate)
        {
            foreach (SafeFileHandle old in _rotatedUnsynced)
            {
                RandomAccess.FlushToDisk(old);
            }

            RandomAccess.FlushToDisk(_segment);
        }
    }

    private void WriteSnapshot(byte[] snapshot, int length, ulong lsn)
    {
        try
        {
            JournalFiles.WriteSnapshot(_directory, snapshot.AsSpan(0, length));
            JournalFiles.DeleteSegmentsBefore(_directory, lsn + 1);
            lock (_gate)
            {
                _lastSnapshotBytes = length;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The old snapshot and every segment are still there: nothing is lost, the journal only stays long.
            _faulted.TrySetException(new IOException($"The xenstore snapshot in {_directory} could not be written: {e.Message}", e));
        }
        finally
        {
            lock (_gate)
            {
                _compacting = false;
            }
        }
    }

    private void FlushLoop()
    {
        while (true)
        {
            long ticket;
            ulong lsn;
            SafeFileHandle segment;
            SafeFileHandle[] rotated;
            ServerConnection[]? wake;
            bool flush;
            lock (_gate)
            {
                while (!_disposed && _endedTicket <= _durableTicket)
                {
                    Monitor.Wait(_gate);
                }

                if (_disposed)
                {
                    return;
                }

                ticket = _endedTicket;
                lsn = _lastLsn;
                segment = _segment;
                rotated = [.. _rotatedUnsynced];
                _rotatedUnsynced.Clear();
                flush = lsn != _syncedLsn || rotated.Length > 0;
                wake = flush ? null : MarkDurable(ticket); // only tickets without records ended since the last flush
            }

            if (!flush)
            {
                Wake(wake);
                continue;
            }

            try
            {
                foreach (SafeFileHandle old in rotated)
                {
                    RandomAccess.FlushToDisk(old);
                    old.Dispose();
                }

                RandomAccess.FlushToDisk(segment);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                _faulted.TrySetException(new IOException($"The xenstore journal in {_directory} could not be flushed: {e.Message}", e));
                return;
            }

            lock (_gate)
            {
                _syncedLsn = lsn;
                wake = MarkDurable(ticket);
            }

            Wake(wake);
        }
    }

    /// <summary>Marks every ticket up to <paramref name="ticket"/> kept and takes the connections to wake (under <c>_gate</c>).</summary>
    private ServerConnection[]? MarkDurable(long ticket)
    {
        if (ticket > _durableTicket)
        {
            Volatile.Write(ref _durableTicket, ticket);
        }

        if (_waiters.Count == 0)
        {
            return null;
        }

        ServerConnection[] wake = [.. _waiters];
        _waiters.Clear();
        return wake;
    }

    private static void Wake(ServerConnection[]? connections)
    {
        if (connections is null)
        {
            return;
        }

        foreach (ServerConnection c in connections)
        {
            c.OutputReady();
        }
    }
}
