using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// One node of the tree. The value and permission arrays are never changed in place (a change installs new arrays),
/// so a transaction's copy may share them; the child list is copied by <see cref="Clone"/>. A node without children
/// has no list of its own (most nodes are leaves: this keeps a leaf to the node, its value and its key).
/// </summary>
internal sealed class StoreNode
{
    private List<string>? _children;

    public StoreNode(byte[] value, XsPermission[] permissions, List<string>? children = null)
    {
        Value = value;
        Permissions = permissions;
        if (children is { Count: > 0 })
        {
            _children = children;
            foreach (string c in children)
            {
                ChildrenByteCount += c.Length + 1;
            }
        }
    }

    public byte[] Value { get; set; }

    public XsPermission[] Permissions { get; set; }

    /// <summary>The children's names, in the order they were created.</summary>
    public IReadOnlyList<string> Children => (IReadOnlyList<string>?)_children ?? [];

    /// <summary>The bytes of the child list on the wire (each name with its NUL).</summary>
    public int ChildrenByteCount { get; private set; }

    /// <summary>The generation of the last committed change (a DIRECTORY_PART <c>gen</c>); 0 for a node not yet committed.</summary>
    public long Generation { get; set; }

    public ushort Owner => Permissions[0].DomainId;

    /// <summary>The bytes the committed tree last charged this node to its owner's memory quota (<see cref="StoreQuota.NodeMemory"/>).</summary>
    public int Charged { get; set; }

    public StoreNode Clone() => new(Value, Permissions, _children is null ? null : [.. _children]) { Generation = Generation };

    public void AddChild(string name)
    {
        (_children ??= []).Add(name);
        ChildrenByteCount += name.Length + 1;
    }

    public void RemoveChild(string name)
    {
        if (_children is not null && _children.Remove(name))
        {
            ChildrenByteCount -= name.Length + 1;
            if (_children.Count == 0)
            {
                _children = null;
            }
        }
    }
}
