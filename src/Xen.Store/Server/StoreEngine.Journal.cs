using Xen.Store.Server.Durability;

namespace Xen.Store.Server;

/// <summary>
/// The state directory from the engine's side: recovering from it at start, and at the end of each stretch of work
/// under the lock, one journal record of what changed (see <see cref="StoreJournal"/>).
/// </summary>
internal sealed partial class StoreEngine : StoreRecord.ITarget
{
    private readonly HashSet<uint> _changedDomains = [];
    private readonly HashSet<uint> _changedWatches = [];
    private StoreJournal? _journal;
    private bool _quotasChanged;

    /// <summary>The journal (null without a state directory); its <see cref="StoreJournal.Faulted"/> tells the server's owner to restart.</summary>
    public StoreJournal? Journal => _journal;

    /// <summary>
    /// Loads the state directory of <see cref="XenStoreServerOptions.StateDirectory"/> and journals every change from
    /// now on. Call before any connection is attached.
    /// </summary>
    /// <exception cref="InvalidDataException">The snapshot is damaged, or what was recovered is not a consistent tree.</exception>
    /// <exception cref="IOException">The directory cannot be read or written.</exception>
    public XenStoreRecovery OpenJournal()
    {
        lock (_gate)
        {
            _journal = StoreJournal.Open(_options, this, out XenStoreRecovery recovered);
            if (!CheckTree())
            {
                _journal.Dispose();
                _journal = null;
                throw new InvalidDataException($"The state in {_options.StateDirectory} is not a consistent tree (a parent's children and the nodes disagree).");
            }

            _tree.TrackChanges();
            return recovered;
        }
    }

    void StoreRecord.ITarget.Node(string path, StoreNode node) => _tree.Restore(path, node);

    void StoreRecord.ITarget.NodeRemoved(string path) => _tree.Forget(path);

    void StoreRecord.ITarget.Children(string path, long generation, List<(string Name, bool Added)> deltas) => _tree.RestoreChildren(path, generation, deltas);

    void StoreRecord.ITarget.Domain(DomainRecord domain)
    {
        // A recovered domain has no ring yet: the record keeps what a restart needs to find it again.
        if (_domains.TryGetValue(domain.Id, out DomainRecord? d))
        {
            d.Introduced = domain.Introduced || domain.Id == 0;
            d.Gfn = domain.Gfn;
            d.Port = domain.Port;
            d.Target = domain.Target;
            d.Features = domain.Features;
            d.Quotas = domain.Quotas;
        }
        else
        {
            _domains[domain.Id] = domain;
        }
    }

    void StoreRecord.ITarget.Quotas(XenStoreQuotas quotas) => _quotas = quotas;

    void StoreRecord.ITarget.Watches(uint domainId, List<StoreWatch> watches) => Domain(domainId).SavedWatches = watches.Count > 0 ? watches : null;

    /// <summary>
    /// After a restart, serves again every introduced guest whose ring the state directory recorded (through
    /// <see cref="RingFactory"/>: the page mapped, the channel bound as INTRODUCE did), with its watches registered again.
    /// A guest whose ring cannot be mapped any more is left for the dead-domain check to release.
    /// </summary>
    /// <returns>The domains served again, and those whose ring failed with why.</returns>
    public (List<uint> Resumed, List<(uint Domain, string Why)> Failed) ResumeRings()
    {
        var resumed = new List<uint>();
        var failed = new List<(uint, string)>();
        lock (_gate)
        {
            if (RingFactory is not { } factory)
            {
                return (resumed, failed);
            }

            BeginChange();
            foreach (DomainRecord d in _domains.Values.ToArray())
            {
                if (d.Id == 0 || !d.Introduced || d.Ring is not null)
                {
                    continue;
                }

                ServerConnection? ring;
                try
                {
                    ring = factory(d);
                }
                catch (Exception e) when (e is Rings.Host.XenHostException or IOException or UnauthorizedAccessException or ArgumentException or System.Net.Sockets.SocketException)
                {
                    failed.Add((d.Id, e.Message));
                    continue;
                }

                if (ring is not null)
                {
                    d.Ring = ring;
                    ring.State.Domain = d;
                    AddConnection(ring);
                    RestoreWatches(d);
                    resumed.Add(d.Id);
                }
            }

            EndChange();
        }

        return (resumed, failed);
    }

    /// <summary>
    /// Registers a resumed ring's watches again: those a live update carried as they were; those the journal recorded
    /// (after a crash) firing each once, as at registration: a change the guest
    /// missed while the server was down then reaches it at least once, and the guest re-reads what it watches.
    /// </summary>
    private void RestoreWatches(DomainRecord d)
    {
        if (d.Carried is { } carried && d.Ring is { } served)
        {
            d.Carried = null; // a live update's: the old process sent every event due, so none fires again
            d.SavedWatches = null; // the same watches, as the state directory recorded them
            served.State.Watches.AddRange(carried.Watches);
            foreach (uint tx in carried.Transactions)
            {
                AddDoomedTransaction(served, tx);
            }

            WatchesChanged(served);
            return;
        }

        if (d.SavedWatches is not { } saved || d.Ring is not { } ring)
        {
            return;
        }

        d.SavedWatches = null;
        foreach (StoreWatch w in saved)
        {
            ring.State.Watches.Add(w);
            SendEvent(ring, w, w.Path);
        }

        WatchesChanged(ring);
    }

    /// <summary>Notes that a connection's watches changed, for the next journal record when it is its domain's ring.</summary>
    private void WatchesChanged(ServerConnection conn)
    {
        if (conn.State.Domain is { } d && ReferenceEquals(d.Ring, conn))
        {
            DomainWatchesChanged(d.Id);
        }
    }

    /// <summary>Notes that a domain's ring watches changed, for the next journal record.</summary>
    private void DomainWatchesChanged(uint domainId)
    {
        if (_journal is not null)
        {
            _changedWatches.Add(domainId);
        }
    }

    void StoreRecord.ITarget.Generation(long generation) => _tree.RestoreGeneration(generation);

    /// <summary>Starts a stretch of work that may change the store or queue messages (under the lock).</summary>
    private void BeginChange() => _journal?.Begin();

    /// <summary>
    /// Ends it (under the lock): what changed goes to the journal as one record, before any reply queued meanwhile can
    /// leave; then, if the journal has outgrown its snapshot, the whole state is handed to it for a new one.
    /// </summary>
    private void EndChange()
    {
        if (_journal is not { } journal)
        {
            return;
        }

        HashSet<string> nodes = _tree.Changes!;
        Dictionary<string, List<(string Name, bool Added)>> children = _tree.ChildChanges!;
        if (nodes.Count > 0 || children.Count > 0 || _changedDomains.Count > 0 || _changedWatches.Count > 0 || _quotasChanged)
        {
            BinaryWriter w = journal.StartRecord();
            foreach (var (path, deltas) in children)
            {
                // A parent whose list alone changed: the names, not the list (a directory of thousands costs one name).
                // One removed, or changed otherwise too, comes whole below. Before the nodes, so that on replay a node
                // is in place before a record that removes it whole.
                if (!nodes.Contains(path))
                {
                    StoreRecord.WriteChildren(w, path, _tree.Get(path)!.Generation, deltas);
                }
            }

            foreach (string path in nodes)
            {
                if (_tree.Get(path) is { } node)
                {
                    StoreRecord.WriteNode(w, path, node);
                }
                else
                {
                    StoreRecord.WriteNodeRemoved(w, path);
                }
            }

            foreach (uint id in _changedDomains)
            {
                StoreRecord.WriteDomain(w, _domains[id]);
            }

            foreach (uint id in _changedWatches)
            {
                DomainRecord d = _domains[id];
                StoreRecord.WriteWatches(w, id, d.Ring?.State.Watches ?? d.SavedWatches ?? []);
            }

            if (_quotasChanged)
            {
                StoreRecord.WriteQuotas(w, _quotas);
            }

            StoreRecord.WriteGeneration(w, _tree.LastGeneration);
            _changedWatches.Clear();
            nodes.Clear();
            children.Clear();
            _changedDomains.Clear();
            _quotasChanged = false;
            journal.AppendRecord();
        }

        journal.End();
        if (journal.WantsCompaction)
        {
            journal.Compact(WholeState(out int length), length);
        }
    }

    /// <summary>Notes that a domain's record changed, for the next journal record.</summary>
    private void DomainChanged(uint domainId)
    {
        if (_journal is not null)
        {
            _changedDomains.Add(domainId);
        }
    }

    /// <summary>The whole state as one frame (header space, then the operations of every node, domain and the quotas).</summary>
    private byte[] WholeState(out int length)
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Wire.XsText.Latin1, leaveOpen: true))
        {
            w.Write(new byte[JournalFrame.HeaderLength]);
            StoreRecord.WriteQuotas(w, _quotas);
            foreach (DomainRecord d in _domains.Values)
            {
                StoreRecord.WriteDomain(w, d);
                if ((d.Ring?.State.Watches ?? d.SavedWatches) is { Count: > 0 } watches)
                {
                    StoreRecord.WriteWatches(w, d.Id, watches);
                }
            }

            foreach (var (path, node) in _tree.Nodes)
            {
                StoreRecord.WriteNode(w, path, node);
            }

            StoreRecord.WriteGeneration(w, _tree.LastGeneration);
        }

        length = (int)stream.Length;
        return stream.GetBuffer();
    }
}
