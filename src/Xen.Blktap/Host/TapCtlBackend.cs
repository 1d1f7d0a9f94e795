using System.Globalization;

namespace Xen.Blktap.Host;

/// <summary>
/// blktap 3 and later, driven through <c>tap-ctl</c>: <c>create -a &lt;driver&gt;:&lt;file&gt;</c> (prints the
/// device), <c>list</c>, <c>pause -p &lt;pid&gt; -m &lt;minor&gt;</c>, <c>unpause -p -m</c>, <c>destroy -p -m</c>
/// and <c>free -m</c> for a minor left allocated without a tapdisk.
/// </summary>
public sealed class TapCtlBackend : ITapBackend
{
    private readonly TapCtlOptions _options;

    /// <summary>Creates the backend.</summary>
    public TapCtlBackend(TapCtlOptions? options = null)
    {
        _options = options ?? new TapCtlOptions();
    }

    /// <inheritdoc/>
    public string Name => "tap-ctl";

    /// <summary>Whether the kernel driver (<see cref="TapCtlOptions.KernelDriverName"/>) is in <c>/proc/devices</c>; always true when none is needed.</summary>
    public ValueTask<bool> IsBlktap2PresentAsync(CancellationToken cancellationToken = default) =>
        _options.KernelDriverName is null
            ? ValueTask.FromResult(true)
            : ProcDevices.HasDriverAsync(_options.ProcRoot, _options.KernelDriverName, cancellationToken);

    /// <summary>Runs <c>tap-ctl create -a &lt;driver&gt;:&lt;file&gt;</c>.</summary>
    /// <exception cref="TapBackendException">tap-ctl is missing, failed, or printed no device path.</exception>
    public async ValueTask<TapDevice> CreateAsync(string driver, string file, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(driver);
        ArgumentException.ThrowIfNullOrEmpty(file);
        string arguments = $"{driver}:{file}";
        ProcessRunner.Result result = await RunAsync(TapOperation.Create, ["create", "-a", arguments], cancellationToken).ConfigureAwait(false);
        if (!TapDevice.TryParseCreated(result.StandardOutput, out string? devicePath, out int minor))
        {
            throw new TapBackendException(TapOperation.Create, $"tap-ctl create -a {arguments} printed no tap device path: {result.Describe()}.", result.ExitCode);
        }

        return new TapDevice(minor, devicePath, arguments);
    }

    /// <summary>Runs <c>tap-ctl pause -p &lt;pid&gt; -m &lt;minor&gt;</c> (the pid from <c>tap-ctl list</c>).</summary>
    /// <exception cref="TapBackendException">No tapdisk serves the minor, or tap-ctl failed.</exception>
    public async ValueTask PauseAsync(int minor, CancellationToken cancellationToken = default)
    {
        TapCtlListEntry entry = await RequireTapdiskAsync(minor, TapOperation.Pause, cancellationToken).ConfigureAwait(false);
        await RunAsync(TapOperation.Pause, ["pause", "-p", Text(entry.ProcessId), "-m", Text(minor)], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs <c>tap-ctl unpause -p &lt;pid&gt; -m &lt;minor&gt;</c>.</summary>
    /// <exception cref="TapBackendException">No tapdisk serves the minor, or tap-ctl failed.</exception>
    public async ValueTask UnpauseAsync(int minor, CancellationToken cancellationToken = default)
    {
        TapCtlListEntry entry = await RequireTapdiskAsync(minor, TapOperation.Unpause, cancellationToken).ConfigureAwait(false);
        await RunAsync(TapOperation.Unpause, ["unpause", "-p", Text(entry.ProcessId), "-m", Text(minor)], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <c>tap-ctl destroy -p &lt;pid&gt; -m &lt;minor&gt;</c> for a minor with a tapdisk, then
    /// <c>tap-ctl free -m &lt;minor&gt;</c> if the minor is still allocated; false when <c>list</c> does not show the minor.
    /// </summary>
    /// <exception cref="TapBackendException">tap-ctl failed.</exception>
    public async ValueTask<bool> ReleaseAsync(int minor, CancellationToken cancellationToken = default)
    {
        TapCtlListEntry? entry = await FindAsync(minor, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            return false;
        }

        if (entry.ProcessId > 0)
        {
            await RunAsync(TapOperation.Release, ["destroy", "-p", Text(entry.ProcessId), "-m", Text(minor)], cancellationToken).ConfigureAwait(false);
            if (await FindAsync(minor, cancellationToken).ConfigureAwait(false) is null)
            {
                return true;
            }
        }

        await RunAsync(TapOperation.Release, ["free", "-m", Text(minor)], cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Runs <c>tap-ctl list</c> and returns its devices (lines with a minor).</summary>
    /// <exception cref="TapBackendException">tap-ctl failed or printed a line it should not.</exception>
    public async ValueTask<IReadOnlyList<TapDevice>> ListAsync(CancellationToken cancellationToken = default) =>
        [.. (await ListEntriesAsync(cancellationToken).ConfigureAwait(false))
            .Where(static e => e.Minor >= 0)
            .OrderBy(static e => e.Minor)
            .Select(static e => new TapDevice(e.Minor, TapDevice.PathFor(e.Minor), e.Arguments, e.ProcessId > 0 ? e.ProcessId : null))];

    /// <summary>Runs <c>tap-ctl list</c> and parses every line.</summary>
    /// <exception cref="TapBackendException">tap-ctl failed or printed a line that is not a list line.</exception>
    public async ValueTask<IReadOnlyList<TapCtlListEntry>> ListEntriesAsync(CancellationToken cancellationToken = default)
    {
        ProcessRunner.Result result = await RunAsync(TapOperation.List, ["list"], cancellationToken).ConfigureAwait(false);
        var entries = new List<TapCtlListEntry>();
        foreach (string line in result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!TapCtlListEntry.TryParse(line, out TapCtlListEntry? entry))
            {
                throw new TapBackendException(TapOperation.List, $"tap-ctl list printed '{line}', which is not pid=.. minor=.. state=.. args=...");
            }

            entries.Add(entry);
        }

        return entries;
    }

    private async ValueTask<TapCtlListEntry?> FindAsync(int minor, CancellationToken cancellationToken) =>
        (await ListEntriesAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(e => e.Minor == minor);

    private async ValueTask<TapCtlListEntry> RequireTapdiskAsync(int minor, TapOperation operation, CancellationToken cancellationToken)
    {
        TapCtlListEntry? entry = await FindAsync(minor, cancellationToken).ConfigureAwait(false);
        return entry is { ProcessId: > 0 }
            ? entry
            : throw new TapBackendException(operation, $"tap-ctl list shows no tapdisk for minor {minor}.");
    }

    private async ValueTask<ProcessRunner.Result> RunAsync(TapOperation operation, string[] arguments, CancellationToken cancellationToken)
    {
        ProcessRunner.Result result = await ProcessRunner.RunAsync(_options.TapCtlPath, operation, arguments, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new TapBackendException(operation, $"tap-ctl {string.Join(' ', arguments)} failed: {result.Describe()}.", result.ExitCode);
        }

        return result;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
