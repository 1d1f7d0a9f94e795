namespace Xen.Store.Server;

/// <summary>
/// What a server found in its <see cref="XenStoreServerOptions.StateDirectory"/> at start (see
/// <see cref="XenStoreServer.Recovery"/>).
/// </summary>
public sealed record XenStoreRecovery
{
    /// <summary>Whether a snapshot was loaded (false: the state was rebuilt from the journal alone, or the directory was new).</summary>
    public bool FromSnapshot { get; init; }

    /// <summary>The sequence number of the last change the snapshot holds (0 without one).</summary>
    public ulong SnapshotSequence { get; init; }

    /// <summary>How many journal records after the snapshot were applied.</summary>
    public int RecordsReplayed { get; init; }

    /// <summary>The sequence number of the last change recovered: the next one written is this plus one.</summary>
    public ulong LastSequence { get; init; }

    /// <summary>
    /// The bytes cut from the journal's tail because they were not a whole, intact record in sequence (a crash in the
    /// middle of a write). A change is acknowledged only once its record is whole, so these were never acknowledged.
    /// </summary>
    public long DiscardedBytes { get; init; }

    /// <summary>Journal segments deleted because they came after the damaged point.</summary>
    public int DiscardedSegments { get; init; }

    /// <summary>The guests whose rings are served again (the server has a host: their pages mapped and channels bound again, their watches registered again).</summary>
    public IReadOnlyList<uint> ResumedDomains { get; init; } = [];

    /// <summary>Introduced guests whose ring could not be mapped or bound again, with why (left for the dead-domain check).</summary>
    public IReadOnlyList<string> UnresumedDomains { get; init; } = [];
}
