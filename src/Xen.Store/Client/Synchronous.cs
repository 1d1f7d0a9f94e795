using Xen.Store.Wire;

namespace Xen.Store.Client;

/// <summary>Waits for the client's asynchronous operations from synchronous code (the facade for scripts).</summary>
/// <remarks>
/// Blocking on them cannot deadlock on a single-threaded <see cref="SynchronizationContext"/>: no continuation inside the
/// client resumes on the caller's context, and replies are read on the client's own thread (Unix socket) or the thread pool.
/// On a receive thread that runs completions inline (<see cref="XenStoreClientOptions.InlineCompletions"/>) blocking could
/// never end, so it throws there instead.
/// </remarks>
internal static class Synchronous
{
    public static T Wait<T>(ValueTask<T> operation)
    {
        if (operation.IsCompletedSuccessfully)
        {
            return operation.Result;
        }

        Task<T> task = operation.AsTask();
        XenStoreClient.ThrowIfBlockingWouldDeadlock();
        return task.GetAwaiter().GetResult();
    }

    public static void Wait(ValueTask operation)
    {
        if (operation.IsCompletedSuccessfully)
        {
            operation.GetAwaiter().GetResult();
        }
        else
        {
            Task task = operation.AsTask();
            XenStoreClient.ThrowIfBlockingWouldDeadlock();
            task.GetAwaiter().GetResult();
        }
    }
}

// The synchronous facade: the same operations, blocking until the daemon answers. Async is the primary API.

/// <content>Synchronous node operations.</content>
public abstract partial class XenStoreOperations
{
    /// <summary>READ, blocking: the node's value.</summary>
    /// <exception cref="XenStoreErrorException">ENOENT when there is no such node; EACCES; ...</exception>
    public byte[] Read(string path) => Synchronous.Wait(ReadAsync(path));

    /// <summary>READ as UTF-8 text, blocking.</summary>
    /// <exception cref="XenStoreErrorException">ENOENT when there is no such node; EACCES; ...</exception>
    public string ReadString(string path) => Synchronous.Wait(ReadStringAsync(path));

    /// <summary>READ as UTF-8 text, blocking; <see langword="null"/> when the node does not exist.</summary>
    /// <exception cref="XenStoreErrorException">Any error but ENOENT.</exception>
    public string? TryReadString(string path) => Synchronous.Wait(TryReadStringAsync(path));

    /// <summary>Whether the node exists, blocking.</summary>
    /// <exception cref="XenStoreErrorException">Any error but ENOENT.</exception>
    public bool Exists(string path) => Synchronous.Wait(ExistsAsync(path));

    /// <summary>WRITE, blocking.</summary>
    /// <exception cref="ArgumentException">The path is invalid, or path and value exceed 4096 bytes (nothing sent).</exception>
    /// <exception cref="XenStoreErrorException">EACCES, ENOSPC (quota), ...</exception>
    public void Write(string path, ReadOnlyMemory<byte> value) => Synchronous.Wait(WriteAsync(path, value));

    /// <summary>WRITE of UTF-8 text, blocking.</summary>
    /// <exception cref="ArgumentException">The path is invalid, or path and value exceed 4096 bytes (nothing sent).</exception>
    /// <exception cref="XenStoreErrorException">EACCES, ENOSPC (quota), ...</exception>
    public void Write(string path, string value) => Synchronous.Wait(WriteAsync(path, value));

    /// <summary>MKDIR, blocking.</summary>
    /// <exception cref="XenStoreErrorException">EACCES, ...</exception>
    public void Mkdir(string path) => Synchronous.Wait(MkdirAsync(path));

    /// <summary>RM, blocking.</summary>
    /// <exception cref="XenStoreErrorException">ENOENT when the parent is missing too; EACCES; EINVAL for <c>/</c>.</exception>
    public void Remove(string path) => Synchronous.Wait(RemoveAsync(path));

    /// <summary>DIRECTORY, blocking (with the DIRECTORY_PART fallback of <see cref="DirectoryAsync"/>).</summary>
    /// <exception cref="XenStoreErrorException">ENOENT; EACCES; E2BIG.</exception>
    public IReadOnlyList<string> Directory(string path) => Synchronous.Wait(DirectoryAsync(path));

    /// <summary>GET_PERMS, blocking.</summary>
    /// <exception cref="XenStoreErrorException">ENOENT; EACCES.</exception>
    public IReadOnlyList<XsPermission> GetPermissions(string path) => Synchronous.Wait(GetPermissionsAsync(path));

    /// <summary>SET_PERMS, blocking.</summary>
    /// <exception cref="ArgumentException">No permission given, or the request exceeds 4096 bytes.</exception>
    /// <exception cref="XenStoreErrorException">ENOENT; EACCES; EINVAL; ENOSPC.</exception>
    public void SetPermissions(string path, IReadOnlyList<XsPermission> permissions) => Synchronous.Wait(SetPermissionsAsync(path, permissions));
}

/// <content>Synchronous connection-level operations.</content>
public sealed partial class XenStoreClient
{
    /// <summary>Connects the way libxenstore does (see <see cref="ConnectAsync(XenStoreClientOptions?, CancellationToken)"/>), blocking.</summary>
    /// <exception cref="XenStoreConnectionException">No daemon could be reached.</exception>
    public static XenStoreClient Connect(XenStoreClientOptions? options = null) => Synchronous.Wait(ConnectAsync(options));

    /// <summary>Connects to the xenstored Unix socket at <paramref name="socketPath"/>, blocking.</summary>
    /// <exception cref="XenStoreConnectionException">Nothing listens there.</exception>
    public static XenStoreClient Connect(string socketPath, XenStoreClientOptions? options = null) => Synchronous.Wait(ConnectAsync(socketPath, options));

    /// <summary>TRANSACTION_START, blocking. Commit or abort the transaction; disposing an open one aborts it.</summary>
    /// <exception cref="XenStoreErrorException">ENOSPC (transaction quota); EBUSY.</exception>
    public XenStoreTransaction StartTransaction() => Synchronous.Wait(StartTransactionAsync());

    /// <summary>
    /// Runs <paramref name="body"/> in a transaction and commits it, running it again on EAGAIN as
    /// <paramref name="policy"/> allows (see <see cref="RunTransactionAsync{T}"/>); blocking.
    /// </summary>
    /// <returns>The body's result from the attempt that committed.</returns>
    /// <exception cref="XenStoreErrorException">EAGAIN when the policy gave up; or the body's own errors.</exception>
    public T RunTransaction<T>(Func<XenStoreTransaction, T> body, TransactionRetryPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Synchronous.Wait(RunTransactionAsync((tx, _) => ValueTask.FromResult(body(tx)), policy));
    }

    /// <summary>WATCH, blocking: registers a watch and returns it; read its events with <see cref="XenStoreWatch.Read(TimeSpan)"/>.</summary>
    /// <exception cref="XenStoreErrorException">EEXIST for a duplicate (path, token); EACCES; ENOSPC.</exception>
    public XenStoreWatch Watch(string path, string? token = null, int? depth = null) => Synchronous.Wait(WatchAsync(path, token, depth));

    /// <summary>Closes the connection, blocking (see <see cref="DisposeAsync"/>).</summary>
    public void Dispose() => Synchronous.Wait(DisposeAsync());
}

/// <content>Synchronous transaction end.</content>
public sealed partial class XenStoreTransaction
{
    /// <summary>TRANSACTION_END with <c>T</c>, blocking.</summary>
    /// <exception cref="XenStoreErrorException">EAGAIN when a concurrent change conflicted; nothing was committed.</exception>
    /// <exception cref="ObjectDisposedException">The transaction already ended.</exception>
    public void Commit() => Synchronous.Wait(CommitAsync());

    /// <summary>TRANSACTION_END with <c>F</c>, blocking.</summary>
    /// <exception cref="ObjectDisposedException">The transaction already ended.</exception>
    public void Abort() => Synchronous.Wait(AbortAsync());

    /// <summary>Aborts the transaction if it is still open, blocking.</summary>
    public void Dispose() => Synchronous.Wait(DisposeAsync());
}

/// <content>Synchronous event reads.</content>
public sealed partial class XenStoreWatch
{
    /// <summary>Waits up to <paramref name="timeout"/> for the next event.</summary>
    /// <returns>The event.</returns>
    /// <exception cref="TimeoutException">No event came within <paramref name="timeout"/>.</exception>
    /// <exception cref="System.Threading.Channels.ChannelClosedException">The watch ended (disposed, reset, or the connection failed: the inner exception says which).</exception>
    public XenStoreWatchEvent Read(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            return Synchronous.Wait(ReadAsync(cancel.Token));
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw new TimeoutException($"No event on the watch of {Path} within {timeout}.");
        }
    }

    /// <summary>Unwatches, blocking.</summary>
    public void Dispose() => Synchronous.Wait(DisposeAsync());
}
