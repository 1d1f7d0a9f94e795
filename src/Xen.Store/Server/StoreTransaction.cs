namespace Xen.Store.Server;

/// <summary>
/// An open transaction: a private copy of every node it touched (read or written), with the committed generation
/// each had when first touched (-1 for "absent"). Commit succeeds only if every touched path still has that
/// generation, which is C xenstored's rule (a node read, written, created or whose child list changed meanwhile
/// fails the commit with EAGAIN). Watch events are kept and fired at commit.
/// </summary>
internal sealed class StoreTransaction : NodeView
{
    private readonly StoreTree _tree;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<uint, int> _ownedDelta = [];

    public StoreTransaction(StoreTree tree, uint id)
    {
        _tree = tree;
        Id = id;
    }

    public uint Id { get; }

    /// <summary>When it started (<see cref="Environment.TickCount64"/>): a live update waits for transactions, up to its timeout.</summary>
    public long StartedAt { get; } = Environment.TickCount64;

    /// <summary>Carried over a live update, which aborts it: its commit answers EAGAIN, as a conflict does, and the client retries.</summary>
    public bool Doomed { get; init; }

    /// <summary>The events to fire at commit, in order.</summary>
    public List<PendingEvent> Events { get; } = [];

    /// <summary>How many nodes the transaction has touched (the <c>transaction-nodes</c> quota).</summary>
    public int TouchedCount => _entries.Count;

    public override StoreNode? Get(string path)
    {
        if (_entries.TryGetValue(path, out Entry? e))
        {
            return e.Node;
        }

        StoreNode? committed = _tree.Get(path);
        _entries[path] = new Entry(committed?.Clone(), committed?.Generation ?? -1);
        return _entries[path].Node;
    }

    public override void Add(string path, StoreNode node)
    {
        StoreNode? old = Get(path);
        if (old is not null)
        {
            Count(old.Owner, -1);
        }

        Entry e = _entries[path];
        e.Node = node;
        e.Modified = true;
        Count(node.Owner, +1);
    }

    public override void Changed(string path, StoreNode node, ushort previousOwner)
    {
        Entry e = _entries[path];
        e.Modified = true;
        if (previousOwner != node.Owner)
        {
            Count(previousOwner, -1);
            Count(node.Owner, +1);
        }
    }

    public override void Remove(string path, StoreNode node)
    {
        Get(path);
        Entry e = _entries[path];
        if (e.Node is not null)
        {
            Count(e.Node.Owner, -1);
        }

        e.Node = null;
        e.Modified = true;
    }

    public override int OwnedBy(uint domainId) => _tree.OwnedBy(domainId) + _ownedDelta.GetValueOrDefault(domainId);

    /// <summary>Whether every touched path still has the generation it had when first touched.</summary>
    public bool CanCommit()
    {
        if (Doomed)
        {
            return false;
        }

        foreach (KeyValuePair<string, Entry> kv in _entries)
        {
            if (_tree.GenerationOf(kv.Key) != kv.Value.OriginalGeneration)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Installs every change in the committed tree (call after <see cref="CanCommit"/>).</summary>
    public void Apply()
    {
        foreach (KeyValuePair<string, Entry> kv in _entries)
        {
            if (kv.Value.Modified && !(kv.Value.Node is null && kv.Value.OriginalGeneration == -1))
            {
                _tree.Install(kv.Key, kv.Value.Node);
            }
        }
    }

    private void Count(ushort owner, int delta) => _ownedDelta[owner] = _ownedDelta.GetValueOrDefault(owner) + delta;

    private sealed class Entry(StoreNode? node, long originalGeneration)
    {
        public StoreNode? Node { get; set; } = node;

        public long OriginalGeneration { get; } = originalGeneration;

        public bool Modified { get; set; }
    }
}
