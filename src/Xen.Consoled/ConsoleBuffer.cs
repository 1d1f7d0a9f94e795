namespace Xen.Consoled;

/// <summary>
/// Guest output on its way to the pseudo-terminal, with xenconsoled's bounds. Output is always taken from the ring (so
/// the guest never blocks on a client that does not read) and appended here; with a limit (<c>console/limit</c>):
/// under <c>--overflow-data=discard</c> (the default), once more than 5/4 of the limit is waiting, the oldest output
/// already written goes, or else the middle of what waits (the first half-limit and the newest bytes stay), so at
/// most 5/4 of the limit waits after any append (xenconsoled's rule; it only bounds pieces up to half the limit); under
/// <c>keep</c>, the ring is not read while the limit is reached, so the guest's own ring holds it back.
/// </summary>
/// <remarks>Not thread-safe: the daemon's loop owns it.</remarks>
internal sealed class ConsoleBuffer
{
    private byte[] _data = [];
    private int _consumed;
    private int _size;

    /// <param name="maxCapacity">The limit in bytes (0: none).</param>
    /// <param name="discardOverflow">Whether output beyond the limit is dropped (else the ring is left unread).</param>
    public ConsoleBuffer(int maxCapacity, bool discardOverflow)
    {
        MaxCapacity = maxCapacity;
        DiscardOverflow = discardOverflow;
    }

    public int MaxCapacity { get; set; }

    public bool DiscardOverflow { get; }

    /// <summary>Bytes waiting for the terminal.</summary>
    public ReadOnlySpan<byte> Pending => _data.AsSpan(_consumed, _size - _consumed);

    public bool IsEmpty => _size == 0;

    /// <summary>Bytes the buffer holds, written or not (what the limit applies to).</summary>
    public int Size => _size;

    /// <summary>Whether more output may be taken from the ring now (<c>buffer_available</c>).</summary>
    public bool CanTakeMore => DiscardOverflow || MaxCapacity == 0 || _size < MaxCapacity;

    /// <summary>Appends output taken from the ring, then applies the discard rule.</summary>
    public void Append(ReadOnlySpan<byte> output)
    {
        if (_data.Length - _size < output.Length)
        {
            // Doubling: a client that reads slowly must not cost a copy of everything waiting per append.
            Array.Resize(ref _data, Math.Max(_size + output.Length, 2 * _data.Length));
        }

        output.CopyTo(_data.AsSpan(_size));
        _size += output.Length;
        int most = 5 * MaxCapacity / 4;
        if (!DiscardOverflow || MaxCapacity == 0 || _size <= most)
        {
            return;
        }

        if (_consumed > MaxCapacity / 4)
        {
            // Most of the front is already written: move the rest up (xenconsoled's first choice).
            _data.AsSpan(_consumed, _size - _consumed).CopyTo(_data);
            _size -= _consumed;
            _consumed = 0;
        }
        else
        {
            // Drop the middle: keep the first half-limit and the newest bytes. xenconsoled drops one half-limit
            // (bytes limit/2 to limit) each time, which leaves more than 5/4 of the limit waiting when a piece is
            // larger than half the limit, and lets a small limit grow without bound; so as many half-limits go as
            // bring it back under 5/4. For pieces up to half the limit (a ring's 2048 bytes against libxl's 1 MiB)
            // that is exactly one, as in xenconsoled.
            int half = Math.Max(1, MaxCapacity / 2);
            int drop = (_size - most + half - 1) / half * half;
            int keepFrom = (MaxCapacity / 2) + drop;
            _data.AsSpan(keepFrom, _size - keepFrom).CopyTo(_data.AsSpan(MaxCapacity / 2));
            _size -= drop;
        }
    }

    /// <summary>Marks <paramref name="byteCount"/> pending bytes as written; an emptied buffer shrinks back to the limit.</summary>
    public void Advance(int byteCount)
    {
        _consumed += byteCount;
        if (_consumed == _size)
        {
            _consumed = 0;
            _size = 0;
            if (MaxCapacity != 0 && _data.Length > MaxCapacity)
            {
                _data = new byte[MaxCapacity];
            }
        }
    }
}
