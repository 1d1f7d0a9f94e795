namespace Xen.Store.Client.Internal;

/// <summary>
/// The watches of one connection and the routing of WATCH_EVENTs to them: an event goes to every watch with its token
/// whose path covers the event's (several watches may share a token and path). Every event posted, a reconnection's
/// gap marker included, takes the next number of one sequence, so a consumer of several watches can order them.
/// </summary>
/// <remarks>Posting never blocks: each watch has a bounded queue of its own (<see cref="XenStoreWatch"/>).</remarks>
internal sealed class WatchRouter
{
    private readonly object _gate = new();
    private readonly List<XenStoreWatch> _watches = [];
    private long _eventSequence;

    public void Add(XenStoreWatch watch)
    {
        lock (_gate)
        {
            _watches.Add(watch);
        }
    }

    /// <summary>Forgets <paramref name="watch"/>; false if it was not registered (already removed or ended).</summary>
    public bool Remove(XenStoreWatch watch)
    {
        lock (_gate)
        {
            return _watches.Remove(watch);
        }
    }

    /// <summary>The registered watches, for re-registration after a reconnection.</summary>
    public XenStoreWatch[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _watches];
        }
    }

    /// <summary>Delivers one WATCH_EVENT to the watches it belongs to.</summary>
    public void Route(string path, string token)
    {
        lock (_gate)
        {
            long sequence = ++_eventSequence;
            foreach (XenStoreWatch w in _watches)
            {
                if (w.Token == token && w.Covers(path))
                {
                    w.Post(new XenStoreWatchEvent(path, token) { Sequence = sequence });
                }
            }
        }
    }

    /// <summary>Tells <paramref name="watch"/> that events may have been missed (the connection was re-established).</summary>
    public void PostGap(XenStoreWatch watch)
    {
        lock (_gate)
        {
            watch.Post(new XenStoreWatchEvent(watch.Path, watch.Token, EventsWereDropped: true) { Sequence = ++_eventSequence });
        }
    }

    /// <summary>Unregisters every watch and ends its stream, with <paramref name="error"/> or (null) normally.</summary>
    public void EndAll(Exception? error)
    {
        XenStoreWatch[] watches;
        lock (_gate)
        {
            watches = [.. _watches];
            _watches.Clear();
        }

        foreach (XenStoreWatch w in watches)
        {
            w.Complete(error);
        }
    }
}
