using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Xen.Store.Wire;

namespace Xen.Store.Client;

/// <summary>
/// The node operations shared by a connection (<see cref="XenStoreClient"/>, outside any transaction) and a
/// <see cref="XenStoreTransaction"/>. Paths may be absolute or relative to the connection's domain home; they are
/// validated before anything is sent (<see cref="ArgumentException"/> names the broken rule). A daemon error
/// surfaces as <see cref="XenStoreErrorException"/>.
/// </summary>
public abstract partial class XenStoreOperations
{
    private protected XenStoreOperations()
    {
    }

    private protected abstract IRequestSender Connection { get; }

    /// <summary>The transaction id these operations are sent in (0 outside a transaction).</summary>
    public abstract uint TransactionId { get; }

    /// <summary>READ: the node's value (a new array, the only allocation the reply costs).</summary>
    /// <exception cref="XenStoreErrorException">ENOENT when there is no such node; EACCES; ...</exception>
    public ValueTask<byte[]> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        XsPath.Validate(path);
        return Connection.RequestAsync(XsMessageType.Read, TransactionId, [path], default, path, cancellationToken);
    }

    /// <summary>READ as UTF-8 text.</summary>
    /// <exception cref="XenStoreErrorException">ENOENT when there is no such node; EACCES; ...</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<string> ReadStringAsync(string path, CancellationToken cancellationToken = default) =>
        Encoding.UTF8.GetString(await ReadAsync(path, cancellationToken).ConfigureAwait(false));

    /// <summary>READ as UTF-8 text, or <see langword="null"/> when the node does not exist (ENOENT).</summary>
    /// <exception cref="XenStoreErrorException">Any error but ENOENT.</exception>
    public async ValueTask<string?> TryReadStringAsync(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            return await ReadStringAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (XenStoreErrorException e) when (e.Error == XsError.ENOENT)
        {
            return null;
        }
    }

    /// <summary>Whether the node exists (a READ that does not fail with ENOENT), as <c>xenstore-exists</c> decides.</summary>
    /// <exception cref="XenStoreErrorException">Any error but ENOENT.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            await ReadAsync(path, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (XenStoreErrorException e) when (e.Error == XsError.ENOENT)
        {
            return false;
        }
    }

    /// <summary>WRITE: sets the node's value, creating it and any missing parents.</summary>
    /// <exception cref="ArgumentException">The path is invalid, or path and value exceed 4096 bytes (nothing sent).</exception>
    /// <exception cref="XenStoreErrorException">EACCES, ENOSPC (quota), ...</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WriteAsync(string path, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        XsPath.Validate(path);
        await Connection.RequestOkAsync(XsMessageType.Write, TransactionId, path, value, path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>WRITE of UTF-8 text.</summary>
    /// <exception cref="ArgumentException">The path is invalid, or path and value exceed 4096 bytes (nothing sent).</exception>
    /// <exception cref="XenStoreErrorException">EACCES, ENOSPC (quota), ...</exception>
    public ValueTask WriteAsync(string path, string value, CancellationToken cancellationToken = default) =>
        WriteAsync(path, Encoding.UTF8.GetBytes(value), cancellationToken);

    /// <summary>MKDIR: creates the node (empty) and any missing parents; an existing node is left as it is.</summary>
    /// <exception cref="XenStoreErrorException">EACCES, ...</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask MkdirAsync(string path, CancellationToken cancellationToken = default)
    {
        XsPath.Validate(path);
        await Connection.RequestOkAsync(XsMessageType.Mkdir, TransactionId, path, default, path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>RM: removes the node and everything below it (a missing node whose parent exists is not an error).</summary>
    /// <exception cref="XenStoreErrorException">ENOENT when the parent is missing too; EACCES; EINVAL for <c>/</c>.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask RemoveAsync(string path, CancellationToken cancellationToken = default)
    {
        XsPath.Validate(path);
        await Connection.RequestOkAsync(XsMessageType.Rm, TransactionId, path, default, path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// DIRECTORY: the node's children's names. When the listing does not fit one reply (E2BIG), it is fetched with
    /// DIRECTORY_PART, restarting if the directory changes meanwhile.
    /// </summary>
    /// <exception cref="XenStoreErrorException">ENOENT; EACCES; E2BIG when the listing is too big and the daemon has no DIRECTORY_PART (it answered ENOSYS; the exception's inner exception is that answer).</exception>
    public async ValueTask<IReadOnlyList<string>> DirectoryAsync(string path, CancellationToken cancellationToken = default)
    {
        XsPath.Validate(path);
        try
        {
            return XsPayload.Strings(await Connection.RequestAsync(XsMessageType.Directory, TransactionId, [path], default, path, cancellationToken).ConfigureAwait(false));
        }
        catch (XenStoreErrorException e) when (e.Error == XsError.E2BIG)
        {
            return await DirectoryPartsAsync(path, e, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>GET_PERMS: the node's permissions; the first names the owner and the default access.</summary>
    /// <exception cref="XenStoreErrorException">ENOENT; EACCES.</exception>
    public async ValueTask<IReadOnlyList<XsPermission>> GetPermissionsAsync(string path, CancellationToken cancellationToken = default)
    {
        XsPath.Validate(path);
        return XsPayload.Permissions(await Connection.RequestAsync(XsMessageType.GetPerms, TransactionId, [path], default, path, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>SET_PERMS: replaces the node's permissions (only its owner or dom0 may; only dom0 may change the owner).</summary>
    /// <exception cref="ArgumentException">No permission given, or the request exceeds 4096 bytes.</exception>
    /// <exception cref="XenStoreErrorException">ENOENT; EACCES; EINVAL; ENOSPC (too many entries).</exception>
    public async ValueTask SetPermissionsAsync(string path, IReadOnlyList<XsPermission> permissions, CancellationToken cancellationToken = default)
    {
        XsPath.Validate(path);
        ArgumentNullException.ThrowIfNull(permissions);
        if (permissions.Count == 0)
        {
            throw new ArgumentException("A node needs at least one permission (its owner).", nameof(permissions));
        }

        string[] args = new string[permissions.Count + 1];
        args[0] = path;
        for (int i = 0; i < permissions.Count; i++)
        {
            args[i + 1] = permissions[i].ToString();
        }

        await Connection.RequestOkAsync(XsMessageType.SetPerms, TransactionId, args, default, path, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<IReadOnlyList<string>> DirectoryPartsAsync(string path, XenStoreErrorException tooBig, CancellationToken cancellationToken)
    {
        for (int restart = 0; restart < 64; restart++)
        {
            var children = new List<string>();
            string? generation = null;
            long offset = 0;
            while (true)
            {
                byte[] reply;
                try
                {
                    reply = await Connection.RequestAsync(XsMessageType.DirectoryPart, TransactionId,
                        [path, offset.ToString(CultureInfo.InvariantCulture)], default, path, cancellationToken).ConfigureAwait(false);
                }
                catch (XenStoreErrorException e) when (e.Error is XsError.ENOSYS or XsError.EINVAL && generation is null)
                {
                    throw new XenStoreErrorException(tooBig.RawError,
                        $"DIRECTORY {path} (the listing exceeds 4096 bytes and the daemon has no DIRECTORY_PART: {e.RawError})", e);
                }

                string[] part = XsPayload.DirectoryPart(reply, out string gen, out int bytes, out bool last);
                if (generation is not null && gen != generation)
                {
                    break; // changed meanwhile: start over
                }

                generation = gen;
                children.AddRange(part);
                offset += bytes;
                if (last)
                {
                    return children;
                }
            }
        }

        throw new XenStoreException($"DIRECTORY {path}: the directory kept changing while it was listed in parts.");
    }
}
