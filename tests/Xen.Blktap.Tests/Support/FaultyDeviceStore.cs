using Xen.Blktap.DeviceStore;
using Xen.Store;
using Xen.Store.Wire;

namespace Xen.Blktap.Tests.Support;

/// <summary>
/// A store that counts every operation (inside transactions too) and fails the one numbered <see cref="FailAt"/>
/// with EIO, once. Watches are passed through and not counted.
/// </summary>
internal sealed class FaultyDeviceStore(IDeviceStore inner) : IDeviceStore
{
    private int _count;

    /// <summary>The 1-based operation to fail, or 0 for none. Reset to 0 once it has failed.</summary>
    public int FailAt { get; set; }

    /// <summary>Operations counted since the last <see cref="Reset"/>.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Whether the injected failure happened.</summary>
    public bool Fired { get; private set; }

    public void Reset(int failAt)
    {
        Volatile.Write(ref _count, 0);
        FailAt = failAt;
        Fired = false;
    }

    public ValueTask<string?> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        Tick("READ", path);
        return inner.ReadAsync(path, cancellationToken);
    }

    public ValueTask<IReadOnlyList<string>> ListAsync(string path, CancellationToken cancellationToken = default)
    {
        Tick("DIRECTORY", path);
        return inner.ListAsync(path, cancellationToken);
    }

    public ValueTask WriteAsync(string path, string value, CancellationToken cancellationToken = default)
    {
        Tick("WRITE", path);
        return inner.WriteAsync(path, value, cancellationToken);
    }

    public ValueTask RemoveAsync(string path, CancellationToken cancellationToken = default)
    {
        Tick("RM", path);
        return inner.RemoveAsync(path, cancellationToken);
    }

    public ValueTask SetPermissionsAsync(string path, IReadOnlyList<XsPermission> permissions, CancellationToken cancellationToken = default)
    {
        Tick("SET_PERMS", path);
        return inner.SetPermissionsAsync(path, permissions, cancellationToken);
    }

    public ValueTask<T> RunTransactionAsync<T>(Func<IDeviceStoreOperations, CancellationToken, ValueTask<T>> body, CancellationToken cancellationToken = default)
    {
        Tick("TRANSACTION_START", "-");
        return inner.RunTransactionAsync((tx, token) => body(new Counted(this, tx), token), cancellationToken);
    }

    public ValueTask<IDeviceStoreWatch> WatchAsync(string path, CancellationToken cancellationToken = default) => inner.WatchAsync(path, cancellationToken);

    private void Tick(string operation, string path)
    {
        int n = Interlocked.Increment(ref _count);
        if (FailAt != 0 && n == FailAt)
        {
            FailAt = 0;
            Fired = true;
            throw new XenStoreErrorException("EIO", $"{operation} {path} (injected)");
        }
    }

    private sealed class Counted(FaultyDeviceStore owner, IDeviceStoreOperations tx) : IDeviceStoreOperations
    {
        public ValueTask<string?> ReadAsync(string path, CancellationToken cancellationToken = default)
        {
            owner.Tick("READ", path);
            return tx.ReadAsync(path, cancellationToken);
        }

        public ValueTask<IReadOnlyList<string>> ListAsync(string path, CancellationToken cancellationToken = default)
        {
            owner.Tick("DIRECTORY", path);
            return tx.ListAsync(path, cancellationToken);
        }

        public ValueTask WriteAsync(string path, string value, CancellationToken cancellationToken = default)
        {
            owner.Tick("WRITE", path);
            return tx.WriteAsync(path, value, cancellationToken);
        }

        public ValueTask RemoveAsync(string path, CancellationToken cancellationToken = default)
        {
            owner.Tick("RM", path);
            return tx.RemoveAsync(path, cancellationToken);
        }

        public ValueTask SetPermissionsAsync(string path, IReadOnlyList<XsPermission> permissions, CancellationToken cancellationToken = default)
        {
            owner.Tick("SET_PERMS", path);
            return tx.SetPermissionsAsync(path, permissions, cancellationToken);
        }
    }
}
