namespace Xen.Store.Server;

/// <summary>What the server knows of one domain: introduced or merely connected, its ring, its target, its settings.</summary>
internal sealed class DomainRecord(uint id)
{
    public uint Id { get; } = id;

    /// <summary>Whether INTRODUCE (or <see cref="XenStoreServer.AttachDomainRing"/>) made it known and RELEASE has not yet forgotten it.</summary>
    public bool Introduced { get; set; }

    public ulong Gfn { get; set; }

    public uint Port { get; set; }

    /// <summary>The domain this one has SET_TARGET privileges over (a device model's guest).</summary>
    public uint? Target { get; set; }

    /// <summary>The ring connection serving the domain, if any.</summary>
    public ServerConnection? Ring { get; set; }

    /// <summary>Every open connection of this domain (its ring, in-process ones); kept for guests only, whose watches count against their memory quota.</summary>
    public List<ServerConnection> Connections { get; } = [];

    /// <summary>SET_FEATURE bits.</summary>
    public uint Features { get; set; }

    /// <summary>
    /// The watches its ring had when the state directory last recorded them, recovered at start and registered again
    /// once the ring is attached; null when there are none to restore.
    /// </summary>
    public List<StoreWatch>? SavedWatches { get; set; }

    /// <summary>What a live update carried of the domain's ring (pending bytes, watches), taken when the ring is served again; else null.</summary>
    public LiveUpdate.CarriedConnection? Carried { get; set; }

    /// <summary>Whether the log last said this domain is over its soft memory quota (said once each way, as C xenstored).</summary>
    public bool OverSoftMemory { get; set; }

    /// <summary>Quotas set for this domain alone (SET_QUOTA with a domid), or null for the defaults.</summary>
    public XenStoreQuotas? Quotas { get; set; }
}
