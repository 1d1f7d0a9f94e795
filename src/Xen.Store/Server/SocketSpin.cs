using System.Diagnostics;

namespace Xen.Store.Server;

/// <summary>
/// The busy wait of <see cref="XenStoreServerOptions.ReceiveSpin"/>, shared by a server's socket workers
/// (<see cref="SocketWorkers"/>). A worker waiting on its connection spins only while no other worker is awake and no
/// other connection was woken in the last millisecond: when other clients are active the machine is not idle (the next
/// wake-up is cheap) and a spinning thread would only take a core from them.
/// </summary>
internal sealed class SocketSpin(TimeSpan spin)
{
    private readonly long _ticks = (long)(spin.TotalSeconds * Stopwatch.Frequency);
    private static readonly long RecentTicks = Stopwatch.Frequency / 1000; // 1 ms
    private readonly object _gate = new();
    private int _awake;
    private (object? Connection, long At) _latest, _previous; // the last two connections that woke (distinct), under _gate

    /// <summary>
    /// The spin of <paramref name="options"/>, or null when it is zero or the process has a single processor (where a
    /// spinning thread only delays the client it waits for).
    /// </summary>
    public static SocketSpin? For(XenStoreServerOptions options, int processors) =>
        options.ReceiveSpin > TimeSpan.Zero && processors > 1 ? new SocketSpin(options.ReceiveSpin) : null;

    /// <summary>How many workers are awake (serving, or spinning) now.</summary>
    public int Awake => Volatile.Read(ref _awake);

    /// <summary>A worker starts, or takes a connection after being idle: it is awake.</summary>
    public void Started() => Interlocked.Increment(ref _awake);

    /// <summary>
    /// A worker is about to wait for its connection's next request. When it is the only one awake and no other connection was
    /// woken lately, it first checks <paramref name="readable"/> until it says so, the spin time is over or another
    /// connection wakes; either way it then counts as asleep.
    /// </summary>
    /// <returns>Whether <paramref name="readable"/> said so while spinning.</returns>
    public bool Sleeping(object connection, Func<bool> readable) => Sleeping(connection, readable, static r => r());

    /// <summary>
    /// <see cref="Sleeping(object, Func{bool})"/> with the check's state passed apart, so that a static check allocates
    /// nothing per request.
    /// </summary>
    public bool Sleeping<T>(object connection, T state, Func<T, bool> readable)
    {
        try
        {
            long now = Stopwatch.GetTimestamp();
            if (Volatile.Read(ref _awake) != 1 || OtherWokeSince(connection, now - RecentTicks))
            {
                return false;
            }

            long until = now + _ticks;
            do
            {
                if (readable(state))
                {
                    return true;
                }
            }
            while (Stopwatch.GetTimestamp() < until && Volatile.Read(ref _awake) == 1);
            return false;
        }
        finally
        {
            Interlocked.Decrement(ref _awake);
        }
    }

    /// <summary>A worker came back from waiting for <paramref name="connection"/>'s next request.</summary>
    public void Woke(object connection)
    {
        Interlocked.Increment(ref _awake);
        long now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            if (_latest.Connection != connection)
            {
                _previous = _latest;
            }

            _latest = (connection, now);
        }
    }

    /// <summary>Whether a connection other than <paramref name="connection"/> woke after <paramref name="since"/>: other clients are active.</summary>
    private bool OtherWokeSince(object connection, long since)
    {
        lock (_gate)
        {
            var other = _latest.Connection == connection ? _previous : _latest;
            return other.Connection is not null && other.At > since;
        }
    }

    /// <summary>A worker waits for a connection to serve, without spinning: it is asleep.</summary>
    public void Idle() => Interlocked.Decrement(ref _awake);

    /// <summary>A worker ends while awake.</summary>
    public void Ended() => Interlocked.Decrement(ref _awake);
}
