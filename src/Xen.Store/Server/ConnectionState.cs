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

    private static readonly Dictionary<uint, StoreTransaction> NoTransactions = [];
    private Dictionary<uint, StoreTransaction>? _transactions; // made at the first one: most connections never open one

    /// <summary>The open transactions by id (read only: <see cref="AddTransaction"/>, <see cref="RemoveTransaction"/>).</summary>
    public IReadOnlyDictionary<uint, StoreTransaction> Transactions => _transactions ?? NoTransactions;

    /// <summary>Opens <paramref name="transaction"/> under its id (replacing one there).</summary>
    public void AddTransaction(StoreTransaction transaction) => (_transactions ??= [])[transaction.Id] = transaction;

    /// <summary>Forgets the transaction <paramref name="id"/>.</summary>
    public void RemoveTransaction(uint id) => _transactions?.Remove(id);

    /// <summary>The last transaction id handed out (ids are per connection, as in C xenstored).</summary>
    public uint NextTransactionId { get; set; }

    /// <summary>Forgets every watch and transaction (RESET_WATCHES, ring reconnection, detach).</summary>
    public void Reset()
    {
        Watches.Clear();
        _transactions?.Clear();
    }
}
