namespace Xen.Store.Server;

/// <summary>
/// The tree as one request sees it: the committed tree, or a transaction's view of it. The operations of
/// <see cref="StoreEngine"/> are written once against this and work the same inside and outside transactions.
/// </summary>
/// <remarks>
/// A node returned by <see cref="Get"/> may be changed in place by the caller, which must then report it with
/// <see cref="Changed"/>; a transaction hands out its own copies, so the committed tree is untouched until commit.
/// </remarks>
internal abstract class NodeView
{
    /// <summary>The node at an absolute path, or null.</summary>
    public abstract StoreNode? Get(string path);

    /// <summary>Installs a new node (its parent's child list is the caller's business).</summary>
    public abstract void Add(string path, StoreNode node);

    /// <summary>Reports that a node obtained from <see cref="Get"/> was changed in place.</summary>
    public abstract void Changed(string path, StoreNode node, ushort previousOwner);

    /// <summary>
    /// Adds a child's name to (or removes it from) the list of a node obtained from <see cref="Get"/>, and reports the
    /// change: a change of the child list alone, which the committed tree journals as the name, not the whole list.
    /// </summary>
    public virtual void ChildChanged(string path, StoreNode node, string child, bool added)
    {
        AddOrRemoveChild(node, child, added);
        Changed(path, node, node.Owner);
    }

    protected static void AddOrRemoveChild(StoreNode node, string child, bool added)
    {
        if (added)
        {
            node.AddChild(child);
        }
        else
        {
            node.RemoveChild(child);
        }
    }

    /// <summary>Removes one node (not its children: the caller walks the subtree).</summary>
    public abstract void Remove(string path, StoreNode node);

    /// <summary>The number of nodes domain <paramref name="domainId"/> owns in this view.</summary>
    public abstract int OwnedBy(uint domainId);
}
