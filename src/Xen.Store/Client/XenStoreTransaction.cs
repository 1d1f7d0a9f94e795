namespace Xen.Store.Client;

/// <summary>
/// An open xenstore transaction: the node operations of <see cref="XenStoreOperations"/> run inside it and become
/// visible to others only at <see cref="CommitAsync"/>. A commit that conflicts with a concurrent change fails with
/// EAGAIN (<see cref="XenStoreClient.RunTransactionAsync{T}"/> retries it). Disposing an open transaction aborts it.
/// </summary>
public sealed partial class XenStoreTransaction : XenStoreOperations, IAsyncDisposable, IDisposable
{
    private readonly XenStoreClient _client;
    private readonly uint _id;
    private readonly int _generation;
    private int _ended;

    internal XenStoreTransaction(XenStoreClient client, uint id, int generation)
    {
        _client = client;
        _id = id;
        _generation = generation;
    }

    /// <inheritdoc/>
    public override uint TransactionId
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _ended) != 0, this);
            if (_client.Generation != _generation)
            {
                throw new XenStoreConnectionException($"Transaction {_id} belonged to a connection that was lost.");
            }

            return _id;
        }
    }

    /// <summary>Whether the transaction was committed or aborted.</summary>
    public bool IsEnded => Volatile.Read(ref _ended) != 0;

    private protected override IRequestSender Connection => _client;

    /// <summary>TRANSACTION_END with <c>T</c>: commits.</summary>
    /// <exception cref="XenStoreErrorException">EAGAIN when a concurrent change conflicted; nothing was committed.</exception>
    /// <exception cref="ObjectDisposedException">The transaction already ended.</exception>
    public ValueTask CommitAsync(CancellationToken cancellationToken = default) => EndAsync(commit: true, cancellationToken);

    /// <summary>TRANSACTION_END with <c>F</c>: discards every change.</summary>
    /// <exception cref="ObjectDisposedException">The transaction already ended.</exception>
    public ValueTask AbortAsync(CancellationToken cancellationToken = default) => EndAsync(commit: false, cancellationToken);

    /// <summary>Aborts the transaction if it is still open; errors are swallowed (the daemon drops it with the connection anyway).</summary>
    public async ValueTask DisposeAsync()
    {
        if (IsEnded || _client.IsFaulted || _client.Generation != _generation)
        {
            Volatile.Write(ref _ended, 1);
            return;
        }

        try
        {
            await EndAsync(commit: false, CancellationToken.None).ConfigureAwait(false);
        }
        catch (XenStoreException)
        {
        }
    }

    private async ValueTask EndAsync(bool commit, CancellationToken cancellationToken)
    {
        uint id = TransactionId;
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            throw new ObjectDisposedException(nameof(XenStoreTransaction), $"Transaction {id} already ended.");
        }

        await _client.RequestOkAsync(Wire.XsMessageType.TransactionEnd, id, [commit ? "T" : "F"], default, null, cancellationToken).ConfigureAwait(false);
    }
}
