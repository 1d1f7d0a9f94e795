namespace Xen.Store.Server;

/// <summary>
/// What the protocol remembers about one connection between its requests: its domain's record, its watches and its
/// open transactions. The engine owns it and touches it only under its lock; the connection only carries it.
/// </summary>
internal sealed class ConnectionState
{
    /// <summary>The domain's record (set when the connection is attached or its domain introduced).</summary>
    public DomainRecord? Domain { get; set; }

    public List<StoreWatch> Watches { get; } = [];

    public Dictionary<uint, StoreTransaction> Transactions { get; } = [];

    /// <summary>The last transaction id handed out (ids are per connection, as in C xenstored).</summary>
    public uint NextTransactionId { get; set; }

    /// <summary>Forgets every watch and transaction (RESET_WATCHES, ring reconnection, detach).</summary>
    public void Reset()
    {
        Watches.Clear();
        Transactions.Clear();
    }
}
