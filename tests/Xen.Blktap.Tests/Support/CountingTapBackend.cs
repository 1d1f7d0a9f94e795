using Xen.Blktap.Host;

namespace Xen.Blktap.Tests.Support;

/// <summary>
/// Passes everything to another tap backend and checks the lifecycle's use of it: a minor is never handed out
/// twice while live, and a release that finds its device happens once per device.
/// </summary>
internal sealed class CountingTapBackend(ITapBackend inner) : ITapBackend
{
    private readonly Lock _lock = new();
    private readonly HashSet<int> _live = [];

    public int Created { get; private set; }

    public int Released { get; private set; }

    public List<string> Violations { get; } = [];

    public string Name => inner.Name;

    public ValueTask<bool> IsBlktap2PresentAsync(CancellationToken cancellationToken = default) => inner.IsBlktap2PresentAsync(cancellationToken);

    public async ValueTask<TapDevice> CreateAsync(string driver, string file, CancellationToken cancellationToken = default)
    {
        TapDevice device = await inner.CreateAsync(driver, file, cancellationToken);
        lock (_lock)
        {
            Created++;
            if (!_live.Add(device.Minor))
            {
                Violations.Add($"minor {device.Minor} created while live");
            }
        }

        return device;
    }

    public ValueTask PauseAsync(int minor, CancellationToken cancellationToken = default) => inner.PauseAsync(minor, cancellationToken);

    public ValueTask UnpauseAsync(int minor, CancellationToken cancellationToken = default) => inner.UnpauseAsync(minor, cancellationToken);

    public async ValueTask<bool> ReleaseAsync(int minor, CancellationToken cancellationToken = default)
    {
        bool existed = await inner.ReleaseAsync(minor, cancellationToken);
        lock (_lock)
        {
            if (existed)
            {
                Released++;
                if (!_live.Remove(minor))
                {
                    Violations.Add($"minor {minor} released but not live");
                }
            }
        }

        return existed;
    }

    public ValueTask<IReadOnlyList<TapDevice>> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);
}
