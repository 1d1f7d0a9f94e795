using System.Threading.Channels;
using Xen.Blktap.DeviceStore;
using Xen.Store.Wire;

namespace Xen.Blktap.Tests.Support;

/// <summary>
/// An in-memory xenstore for the lifecycle: a tree of nodes with implicit parents, transactions that run one at a
/// time under a lock and roll back when their body throws, and watches that fire (at commit, for transactions) for
/// changes at or below their path.
/// </summary>
internal sealed class InMemoryDeviceStore : IDeviceStore, IDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly SortedDictionary<string, string> _nodes = new(StringComparer.Ordinal) { ["/"] = string.Empty };
    private readonly List<Watch> _watches = [];

    public async ValueTask<string?> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            return Read(path);
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask<IReadOnlyList<string>> ListAsync(string path, CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            return List(path);
        }
        finally
        {
            _lock.Release();
        }
    }

    public ValueTask WriteAsync(string path, string value, CancellationToken cancellationToken = default) =>
        MutateAsync(changed => Write(path, value, changed), cancellationToken);

    public ValueTask RemoveAsync(string path, CancellationToken cancellationToken = default) =>
        MutateAsync(changed => Remove(path, changed), cancellationToken);

    public ValueTask SetPermissionsAsync(string path, IReadOnlyList<XsPermission> permissions, CancellationToken cancellationToken = default) =>
        MutateAsync(changed => RequireExists(path), cancellationToken);

    public async ValueTask<T> RunTransactionAsync<T>(Func<IDeviceStoreOperations, CancellationToken, ValueTask<T>> body, CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken);
        var snapshot = new Dictionary<string, string>(_nodes, StringComparer.Ordinal);
        var changed = new List<string>();
        try
        {
            T result = await body(new Transaction(this, changed), cancellationToken);
            Notify(changed);
            return result;
        }
        catch
        {
            _nodes.Clear();
            foreach (KeyValuePair<string, string> node in snapshot)
            {
                _nodes.Add(node.Key, node.Value);
            }

            throw;
        }
        finally
        {
            _lock.Release();
        }
    }

    public ValueTask<IDeviceStoreWatch> WatchAsync(string path, CancellationToken cancellationToken = default)
    {
        var watch = new Watch(this, path);
        lock (_watches)
        {
            _watches.Add(watch);
        }

        watch.Signal();
        return ValueTask.FromResult<IDeviceStoreWatch>(watch);
    }

    public void Dispose() => _lock.Dispose();

    /// <summary>Every node path (for assertions).</summary>
    public IReadOnlyList<string> Snapshot()
    {
        _lock.Wait();
        try
        {
            return [.. _nodes.Keys];
        }
        finally
        {
            _lock.Release();
        }
    }

    private async ValueTask MutateAsync(Action<List<string>> mutation, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        var changed = new List<string>();
        try
        {
            mutation(changed);
            Notify(changed);
        }
        finally
        {
            _lock.Release();
        }
    }

    private string? Read(string path)
    {
        XsPath.Validate(path);
        return _nodes.TryGetValue(path, out string? value) ? value : null;
    }

    private List<string> List(string path)
    {
        XsPath.Validate(path);
        string prefix = path == "/" ? "/" : path + "/";
        return [.. _nodes.Keys.Where(k => k.Length > prefix.Length && k.StartsWith(prefix, StringComparison.Ordinal) && k.IndexOf('/', prefix.Length) < 0)
            .Select(k => k[prefix.Length..])];
    }

    private void Write(string path, string value, List<string> changed)
    {
        XsPath.Validate(path);
        for (string? parent = XsPath.Parent(path); parent is not null && !_nodes.ContainsKey(parent); parent = XsPath.Parent(parent))
        {
            _nodes[parent] = string.Empty;
        }

        _nodes[path] = value;
        changed.Add(path);
    }

    private void Remove(string path, List<string> changed)
    {
        XsPath.Validate(path);
        if (path == "/")
        {
            throw new Xen.Store.XenStoreErrorException("EINVAL");
        }

        foreach (string key in _nodes.Keys.Where(k => k == path || k.StartsWith(path + "/", StringComparison.Ordinal)).ToList())
        {
            _nodes.Remove(key);
            changed.Add(key);
        }
    }

    private void RequireExists(string path)
    {
        if (!_nodes.ContainsKey(path))
        {
            throw new Xen.Store.XenStoreErrorException("ENOENT");
        }
    }

    private void Notify(List<string> changed)
    {
        if (changed.Count == 0)
        {
            return;
        }

        Watch[] watches;
        lock (_watches)
        {
            watches = [.. _watches];
        }

        foreach (Watch watch in watches)
        {
            if (changed.Any(c => XsPath.IsAtOrBelow(c, watch.Path) || XsPath.IsAtOrBelow(watch.Path, c)))
            {
                watch.Signal();
            }
        }
    }

    private sealed class Transaction(InMemoryDeviceStore store, List<string> changed) : IDeviceStoreOperations
    {
        public ValueTask<string?> ReadAsync(string path, CancellationToken cancellationToken = default) => ValueTask.FromResult(store.Read(path));

        public ValueTask<IReadOnlyList<string>> ListAsync(string path, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IReadOnlyList<string>>(store.List(path));

        public ValueTask WriteAsync(string path, string value, CancellationToken cancellationToken = default)
        {
            store.Write(path, value, changed);
            return ValueTask.CompletedTask;
        }

        public ValueTask RemoveAsync(string path, CancellationToken cancellationToken = default)
        {
            store.Remove(path, changed);
            return ValueTask.CompletedTask;
        }

        public ValueTask SetPermissionsAsync(string path, IReadOnlyList<XsPermission> permissions, CancellationToken cancellationToken = default)
        {
            store.RequireExists(path);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Watch(InMemoryDeviceStore store, string path) : IDeviceStoreWatch
    {
        private readonly Channel<bool> _events = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

        public string Path { get; } = path;

        public void Signal() => _events.Writer.TryWrite(true);

        public async ValueTask WaitAsync(CancellationToken cancellationToken = default) => await _events.Reader.ReadAsync(cancellationToken);

        public ValueTask DisposeAsync()
        {
            lock (store._watches)
            {
                store._watches.Remove(this);
            }

            _events.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }
    }
}
