using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// The committed tree: a dictionary from absolute path to node, the per-domain ownership counts the node quota is
/// checked against, and the generation counter. Only <see cref="StoreEngine"/> touches it, under its lock.
/// </summary>
internal sealed class StoreTree : NodeView
{
    private readonly Dictionary<string, StoreNode> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<uint, int> _owned = [];
    private long _generation;

    public StoreTree()
    {
        XsPermission[] n0 = [new XsPermission(XsAccess.None, 0)];
        Add("/", new StoreNode([], n0));
        Add("/tool", new StoreNode([], n0));
        _nodes["/"].AddChild("tool");
        Add("/tool/xenstored", new StoreNode([], n0));
        _nodes["/tool"].AddChild("xenstored");
    }

    public int Count => _nodes.Count;

    /// <summary>Replaces the whole tree with nodes given parents first (each is appended to its parent's child list).</summary>
    /// <exception cref="InvalidDataException">A node comes before its parent, or there is no root.</exception>
    public void Replace(IEnumerable<(string Path, byte[] Value, XsPermission[] Permissions)> nodes)
    {
        _nodes.Clear();
        _owned.Clear();
        foreach (var (path, value, permissions) in nodes)
        {
            if (path != "/")
            {
                string parent = XsPath.Parent(path)!;
                if (!_nodes.TryGetValue(parent, out StoreNode? p))
                {
                    throw new InvalidDataException($"The saved node {path} comes before its parent.");
                }

                p.AddChild(path[(path.LastIndexOf('/') + 1)..]);
            }

            Add(path, new StoreNode(value, permissions));
        }

        if (!_nodes.ContainsKey("/"))
        {
            throw new InvalidDataException("The saved tree has no root.");
        }
    }

    public IEnumerable<KeyValuePair<string, StoreNode>> Nodes => _nodes;

    public IReadOnlyDictionary<uint, int> OwnedCounts => _owned;

    public long NextGeneration() => ++_generation;

    public override StoreNode? Get(string path) => _nodes.GetValueOrDefault(path);

    /// <summary>The committed generation of a path, or -1 when there is no node.</summary>
    public long GenerationOf(string path) => _nodes.TryGetValue(path, out StoreNode? n) ? n.Generation : -1;

    public override void Add(string path, StoreNode node)
    {
        node.Generation = NextGeneration();
        if (_nodes.Remove(path, out StoreNode? old))
        {
            CountOwner(old.Owner, -1);
        }

        _nodes[path] = node;
        CountOwner(node.Owner, +1);
    }

    public override void Changed(string path, StoreNode node, ushort previousOwner)
    {
        node.Generation = NextGeneration();
        if (previousOwner != node.Owner)
        {
            CountOwner(previousOwner, -1);
            CountOwner(node.Owner, +1);
        }
    }

    public override void Remove(string path, StoreNode node)
    {
        if (_nodes.Remove(path, out StoreNode? old))
        {
            CountOwner(old.Owner, -1);
        }
    }

    public override int OwnedBy(uint domainId) => _owned.GetValueOrDefault(domainId);

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

    private void CountOwner(ushort owner, int delta)
    {
        int n = _owned.GetValueOrDefault(owner) + delta;
        if (n == 0)
        {
            _owned.Remove(owner);
        }
        else
        {
            _owned[owner] = n;
        }
    }
}
