using System.Diagnostics;

namespace Xen.Store;

/// <summary>
/// Lets a repeated log report through the first time, then at most once per <see cref="Interval"/>, counting the
/// occurrences it held back so that the next report can say how many there were: a peer that repeats what is
/// reported (a guest retrying past its quota, clients refused at the descriptor limit, a watch always behind) costs
/// the log a line every few seconds, not one per occurrence. Not thread-safe: each user calls it from one thread at a
/// time (under its own lock).
/// </summary>
internal sealed class ReportThrottle
{
    /// <summary>The least time between two reports.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private static readonly long IntervalTicks = (long)(Interval.TotalSeconds * Stopwatch.Frequency);
    private long _quietUntil; // a Stopwatch timestamp; 0 before the first report
    private int _heldBack;

    /// <summary>One more occurrence: whether to report it now, and if so how many were held back since the last report.</summary>
    public bool Due(out int heldBack)
    {
        long now = Stopwatch.GetTimestamp();
        if (_quietUntil != 0 && now < _quietUntil)
        {
            _heldBack++;
            heldBack = 0;
            return false;
        }

        heldBack = _heldBack;
        _heldBack = 0;
        _quietUntil = now + IntervalTicks;
        return true;
    }
}
