using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// One node of the tree. The value and permission arrays are never changed in place (a change installs new arrays),
/// so a transaction's copy may share them; the child list is copied by <see cref="Clone"/>.
/// </summary>
internal sealed class StoreNode
{
    public StoreNode(byte[] value, XsPermission[] permissions, List<string> children)
    {
        Value = value;
        Permissions = permissions;
        Children = children;
        foreach (string c in children)
        {
            ChildrenByteCount += c.Length + 1;
        }
    }

    public byte[] Value { get; set; }

    public XsPermission[] Permissions { get; set; }

    public List<string> Children { get; }

    /// <summary>The bytes of the child list on the wire (each name with its NUL).</summary>
    public int ChildrenByteCount { get; private set; }

    /// <summary>The generation of the last committed change (a DIRECTORY_PART <c>gen</c>); 0 for a node not yet committed.</summary>
    public long Generation { get; set; }

    public ushort Owner => Permissions[0].DomainId;

    public StoreNode Clone() => new(Value, Permissions, [.. Children]) { Generation = Generation };

    public void AddChild(string name)
    {
        Children.Add(name);
        ChildrenByteCount += name.Length + 1;
    }

    public void RemoveChild(string name)
    {
        if (Children.Remove(name))
        {
            ChildrenByteCount -= name.Length + 1;
        }
    }
}
