namespace Xen.Store.Server;

/// <summary>
/// The quotas that bind one connection as it makes one request: its domain's <see cref="XenStoreQuotas"/> (or the
/// defaults), waived for a privileged connection except for the path length, which binds dom0 too (as in C xenstored).
/// Each check answers "over the quota", and tells <see cref="QuotaRefusals"/> when it is (every check that answers true
/// refuses the request); the handler chooses the error, which differs by request as C xenstored's does.
/// </summary>
internal readonly struct StoreQuota(XenStoreQuotas limits, bool privileged, uint domainId, QuotaRefusals? refusals)
{
    private const int NodeRecordHeaderSize = 24;
    private const int PermissionRecordSize = 8;

    public XenStoreQuotas Limits { get; } = limits;

    /// <summary>
    /// The record C xenstored stores for a node: a 24-byte header (generation, permission count, value and children
    /// lengths), 8 bytes per permission, the value and the NUL-terminated child names.
    /// </summary>
    public static int RecordSize(int permissionCount, int valueByteCount, int childrenByteCount) =>
        NodeRecordHeaderSize + (PermissionRecordSize * permissionCount) + valueByteCount + childrenByteCount;

    /// <summary>What a node costs its owner's <c>memory</c> quota, as C xenstored counts it: its record and its path.</summary>
    public static int NodeMemory(string path, StoreNode node) =>
        RecordSize(node.Permissions.Length, node.Value.Length, node.ChildrenByteCount) + path.Length;

    /// <summary><c>path-max</c>: <paramref name="length"/> is the path's length below the domain's home.</summary>
    public bool PathTooLong(int length) => Over(length > Limits.PathLength, "path-max", Limits.PathLength);

    /// <summary><c>nodes</c>: the domain owns <paramref name="owned"/> and would create <paramref name="adding"/> more.</summary>
    public bool TooManyNodes(int owned, int adding) => Over(!privileged && owned + adding > Limits.Nodes, "nodes", Limits.Nodes);

    /// <summary><c>node-size</c> as C xenstored applies it: to the node's record (<see cref="RecordSize"/>); a record as large as the quota is already refused.</summary>
    public bool NodeTooLarge(int permissionCount, int valueByteCount, int childrenByteCount) => Over(
        !privileged && RecordSize(permissionCount, valueByteCount, childrenByteCount) >= Limits.NodeSize,
        "node-size",
        Limits.NodeSize);

    /// <summary><c>permissions</c>: a SET_PERMS list of <paramref name="count"/> entries.</summary>
    public bool TooManyPermissions(int count) => Over(!privileged && count > Limits.Permissions, "permissions", Limits.Permissions);

    /// <summary><c>watches</c>: checked with the connection's current count, so one more than the quota fits (as in C xenstored).</summary>
    public bool TooManyWatches(int count) => Over(!privileged && count > Limits.Watches, "watches", Limits.Watches);

    /// <summary><c>transactions</c>: checked with the open count, so one more than the quota fits (as in C xenstored).</summary>
    public bool TooManyTransactions(int open) => Over(!privileged && open > Limits.Transactions, "transactions", Limits.Transactions);

    /// <summary><c>transaction-nodes</c>: the nodes a transaction has touched.</summary>
    public bool TooManyTransactionNodes(int touched) => Over(!privileged && touched > Limits.TransactionNodes, "transaction-nodes", Limits.TransactionNodes);

    private bool Over(bool over, string quota, int limit)
    {
        if (over)
        {
            refusals?.Refused(domainId, quota, limit);
        }

        return over;
    }
}
