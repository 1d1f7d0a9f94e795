namespace Xen.Store.Server;

/// <summary>The <c>memory</c> quota: the bytes a domain holds in the store, counted and checked as C xenstored does.</summary>
/// <remarks>
/// What is counted (C xenstored 4.17's <c>domain_memory_add</c> callers): each node the domain owns, its record and its
/// path (<see cref="StoreQuota.NodeMemory"/>, kept by <see cref="StoreTree"/> as nodes change), and each watch of its
/// connections, path and token. What C counts and this server does not: messages waiting to be sent or being read
/// (bounded here by the <c>outstanding</c> quota and the queue bound instead), and a transaction's private copies
/// (checked here against the owner's committed figure, as a write outside the transaction would be). The check is on
/// the node's owner, whoever writes (dom0 writing into a guest's full node is refused too, as in C); dom0 owns without
/// limit. A domain at its quota is refused new bytes but still served (C also stops reading such a domain's ring,
/// which can only happen after the quota is lowered under it).
/// </remarks>
internal sealed partial class StoreEngine
{
    /// <summary>The bytes domain <paramref name="domainId"/> holds: its nodes and its connections' watches.</summary>
    private long MemoryOf(uint domainId)
    {
        long bytes = _tree.MemoryOf(domainId);
        if (_domains.TryGetValue(domainId, out DomainRecord? d))
        {
            foreach (ServerConnection c in d.Connections)
            {
                foreach (StoreWatch w in c.State.Watches)
                {
                    bytes += WatchMemory(w);
                }
            }
        }

        return bytes;
    }

    private static int WatchMemory(StoreWatch watch) => watch.AbsolutePath.Length + watch.Token.Length;

    /// <summary>
    /// Whether domain <paramref name="owner"/> would hold its memory quota or more with <paramref name="adding"/> bytes
    /// more (negative: fewer); says so to the quota log when it would. Also where the soft quota is reported, once each
    /// way as C xenstored reports it.
    /// </summary>
    private bool MemoryOver(uint owner, long adding)
    {
        if (owner == 0)
        {
            return false;
        }

        _domains.TryGetValue(owner, out DomainRecord? d);
        XenStoreQuotas limits = d?.Quotas ?? _quotas;
        long after = MemoryOf(owner) + adding;
        if (d is not null && limits.SoftMemory > 0 && (after >= limits.SoftMemory) != d.OverSoftMemory)
        {
            d.OverSoftMemory = !d.OverSoftMemory;
            if (d.OverSoftMemory)
            {
                StoreLog.SoftMemoryExceeded(Logger, owner, after, limits.SoftMemory);
            }
            else
            {
                StoreLog.SoftMemoryBelow(Logger, owner, after, limits.SoftMemory);
            }
        }

        if (limits.Memory > 0 && after >= limits.Memory)
        {
            _refusals.Refused(owner, "memory", limits.Memory);
            return true;
        }

        return false;
    }
}
