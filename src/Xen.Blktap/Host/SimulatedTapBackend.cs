namespace Xen.Blktap.Host;

/// <summary>
/// A tap backend that keeps its devices in memory: minors are allocated lowest first, as the kernel driver does,
/// and paths are the standard <c>/dev/xen/blktap-2/tapdev&lt;N&gt;</c>. <see cref="InjectFailure"/> makes any
/// operation fail on demand; <see cref="ReleasedMinors"/> records every release that happened.
/// </summary>
public sealed class SimulatedTapBackend : ITapBackend
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<int, (TapDevice Device, bool Paused)> _devices = [];
    private readonly List<int> _released = [];

    /// <inheritdoc/>
    public string Name => "simulated";

    /// <summary>What <see cref="IsBlktap2PresentAsync"/> answers (default true).</summary>
    public bool Blktap2Present { get; set; } = true;

    /// <summary>
    /// Consulted before each operation with the operation and the minor it concerns (-1 for create and list); the
    /// exception it returns is thrown instead of doing the operation.
    /// </summary>
    public Func<TapOperation, int, Exception?>? InjectFailure { get; set; }

    /// <summary>Every minor released so far, in order (a minor may appear again after it was reused).</summary>
    public IReadOnlyList<int> ReleasedMinors
    {
        get
        {
            lock (_lock)
            {
                return [.. _released];
            }
        }
    }

    /// <summary>Whether the device of minor <paramref name="minor"/> exists and is paused.</summary>
    public bool IsPaused(int minor)
    {
        lock (_lock)
        {
            return _devices.TryGetValue(minor, out var entry) && entry.Paused;
        }
    }

    /// <inheritdoc/>
    public ValueTask<bool> IsBlktap2PresentAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(Blktap2Present);

    /// <inheritdoc/>
    public ValueTask<TapDevice> CreateAsync(string driver, string file, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(driver);
        ArgumentException.ThrowIfNullOrEmpty(file);
        cancellationToken.ThrowIfCancellationRequested();
        Fail(TapOperation.Create, -1);
        lock (_lock)
        {
            int minor = 0;
            while (_devices.ContainsKey(minor))
            {
                minor++;
            }

            var device = new TapDevice(minor, TapDevice.PathFor(minor), $"{driver}:{file}");
            _devices.Add(minor, (device, false));
            return ValueTask.FromResult(device);
        }
    }

    /// <inheritdoc/>
    public ValueTask PauseAsync(int minor, CancellationToken cancellationToken = default) => SetPaused(minor, true, TapOperation.Pause, cancellationToken);

    /// <inheritdoc/>
    public ValueTask UnpauseAsync(int minor, CancellationToken cancellationToken = default) => SetPaused(minor, false, TapOperation.Unpause, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<bool> ReleaseAsync(int minor, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Fail(TapOperation.Release, minor);
        lock (_lock)
        {
            if (!_devices.Remove(minor))
            {
                return ValueTask.FromResult(false);
            }

            _released.Add(minor);
            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<TapDevice>> ListAsync(CancellationToken cancellationToken = default)
    {
        Fail(TapOperation.List, -1);
        lock (_lock)
        {
            return ValueTask.FromResult<IReadOnlyList<TapDevice>>([.. _devices.Values.Select(static e => e.Device)]);
        }
    }

    private ValueTask SetPaused(int minor, bool paused, TapOperation operation, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Fail(operation, minor);
        lock (_lock)
        {
            if (!_devices.TryGetValue(minor, out var entry))
            {
                throw new TapBackendException(operation, $"There is no tap device {minor}.");
            }

            _devices[minor] = (entry.Device, paused);
        }

        return ValueTask.CompletedTask;
    }

    private void Fail(TapOperation operation, int minor)
    {
        if (InjectFailure?.Invoke(operation, minor) is { } error)
        {
            throw error;
        }
    }
}
