using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// The committed tree: a dictionary from absolute path to node, the per-domain ownership counts and bytes the node and
/// memory quotas are checked against, and the generation counter. Only <see cref="StoreEngine"/> touches it, under its lock.
/// </summary>
internal sealed class StoreTree : NodeView
{
    private readonly Dictionary<string, StoreNode> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<uint, int> _owned = [];
    private readonly Dictionary<uint, long> _memory = []; // by owner: each node's StoreNode.Charged
    private long _generation;

    public StoreTree()
    {
        XsPermission[] n0 = [new XsPermission(XsAccess.None, 0)];
        Add("/", new StoreNode([], n0, ["tool"]));
        Add("/tool", new StoreNode([], n0, ["xenstored"]));
        Add("/tool/xenstored", new StoreNode([], n0));
    }

    public int Count => _nodes.Count;

    /// <summary>
    /// The paths added, changed or removed since the engine last took them for the journal; null while the server has
    /// no state directory (nothing is tracked then).
    /// </summary>
    public HashSet<string>? Changes { get; private set; }

    /// <summary>
    /// The child names added (true) or removed since the engine last took them, by parent, in order; tracked with
    /// <see cref="Changes"/>, and only worth journalling for a parent not itself in <see cref="Changes"/>.
    /// </summary>
    public Dictionary<string, List<(string Name, bool Added)>>? ChildChanges { get; private set; }

    /// <summary>The last generation handed out.</summary>
    public long LastGeneration => _generation;

    /// <summary>Starts tracking <see cref="Changes"/>.</summary>
    public void TrackChanges()
    {
        Changes ??= new HashSet<string>(StringComparer.Ordinal);
        ChildChanges ??= new Dictionary<string, List<(string, bool)>>(StringComparer.Ordinal);
    }

    /// <summary>Puts a recovered node in place as it was, generation and child list included (recovery only).</summary>
    public void Restore(string path, StoreNode node) => Put(path, node);

    /// <summary>Removes a node that a recovered record says is gone (recovery only; its parent's list comes separately).</summary>
    public void Forget(string path)
    {
        if (_nodes.Remove(path, out StoreNode? old))
        {
            CountOwner(old.Owner, -1);
            Charge(old.Owner, -old.Charged);
        }
    }

    /// <summary>Puts <paramref name="node"/> at <paramref name="path"/> in place of any node there, keeping the ownership counts.</summary>
    private void Put(string path, StoreNode node)
    {
        Forget(path);
        _nodes[path] = node;
        CountOwner(node.Owner, +1);
        node.Charged = StoreQuota.NodeMemory(path, node);
        Charge(node.Owner, node.Charged);
    }

    /// <summary>Sets the generation counter to a recovered value (recovery only).</summary>
    public void RestoreGeneration(long generation) => _generation = Math.Max(_generation, generation);

    public IEnumerable<KeyValuePair<string, StoreNode>> Nodes => _nodes;

    public IReadOnlyDictionary<uint, int> OwnedCounts => _owned;

    public long NextGeneration() => ++_generation;

    public override StoreNode? Get(string path) => _nodes.GetValueOrDefault(path);

    /// <summary>The committed generation of a path, or -1 when there is no node.</summary>
    public long GenerationOf(string path) => _nodes.TryGetValue(path, out StoreNode? n) ? n.Generation : -1;

    public override void Add(string path, StoreNode node)
    {
        node.Generation = NextGeneration();
        Changes?.Add(path);
        Put(path, node);
    }

    public override void Changed(string path, StoreNode node, ushort previousOwner)
    {
        node.Generation = NextGeneration();
        Changes?.Add(path);
        if (previousOwner != node.Owner)
        {
            CountOwner(previousOwner, -1);
            CountOwner(node.Owner, +1);
        }

        Recharge(path, node, previousOwner);
    }

    public override void ChildChanged(string path, StoreNode node, string child, bool added)
    {
        AddOrRemoveChild(node, child, added);
        Recharge(path, node, node.Owner);
        node.Generation = NextGeneration();
        if (ChildChanges is { } deltas)
        {
            if (!deltas.TryGetValue(path, out var list))
            {
                deltas[path] = list = [];
            }

            list.Add((child, added));
        }
    }

    /// <summary>Applies a recovered change of a node's child list (recovery only).</summary>
    /// <exception cref="InvalidDataException">There is no such node.</exception>
    public void RestoreChildren(string path, long generation, IEnumerable<(string Name, bool Added)> deltas)
    {
        StoreNode node = Get(path) ?? throw new InvalidDataException($"The journal changes the children of {path}, which does not exist.");
        foreach (var (name, added) in deltas)
        {
            AddOrRemoveChild(node, name, added);
        }

        Recharge(path, node, node.Owner);
        node.Generation = generation;
    }

    public override void Remove(string path, StoreNode node)
    {
        Changes?.Add(path);
        Forget(path);
    }

    public override int OwnedBy(uint domainId) => _owned.GetValueOrDefault(domainId);

    /// <summary>The bytes of the nodes domain <paramref name="domainId"/> owns, as its <c>memory</c> quota counts them.</summary>
    public long MemoryOf(uint domainId) => _memory.GetValueOrDefault(domainId);

    /// <summary>Every owner's node bytes (for the <c>check</c> command and the metrics).</summary>
    public IReadOnlyDictionary<uint, long> Memory => _memory;

    /// <summary>Installs a committed transaction's version of a path (null: removed).</summary>
    public void Install(string path, StoreNode? node)
    {
        if (node is null)
        {
            if (_nodes.TryGetValue(path, out StoreNode? old))
            {
                Remove(path, old);
            }
        }
        else
        {
            Add(path, node);
        }
    }

    /// <summary>Charges a node changed in place to its owner afresh, taking back what it cost <paramref name="previousOwner"/>.</summary>
    private void Recharge(string path, StoreNode node, ushort previousOwner)
    {
        Charge(previousOwner, -node.Charged);
        node.Charged = StoreQuota.NodeMemory(path, node);
        Charge(node.Owner, node.Charged);
    }

    private void Charge(ushort owner, long bytes) => AddTo(_memory, owner, bytes);

    private void CountOwner(ushort owner, int delta) => AddTo(_owned, owner, delta);

    /// <summary>Adds to an owner's figure; an owner at zero leaves the table (it lists only owners that hold something).</summary>
    private static void AddTo<T>(Dictionary<uint, T> table, ushort owner, T delta)
        where T : System.Numerics.INumber<T>
    {
        T n = table.GetValueOrDefault(owner, T.Zero) + delta;
        if (T.IsZero(n))
        {
            table.Remove(owner);
        }
        else
        {
            table[owner] = n;
        }
    }
}
