using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xen.Blktap.Host;
using Xen.Blktap.Model;
using Xen.Blktap.DeviceStore;
using Xen.Store.Xenbus;

namespace Xen.Blktap.Lifecycle;

/// <summary>
/// The toolstack's side of block devices: creates, pauses, resumes and destroys a domain's disks, starting and
/// releasing tap devices through an <see cref="ITapBackend"/> and driving the xenbus handshake in xenstore.
/// </summary>
/// <remarks>
/// <para>
/// Create: the class is chosen (<see cref="DeviceClasses.Choose"/>); a tap2 device first gets a tap device from the
/// host; then the backend, frontend and <c>/vm</c> nodes are written in one transaction (retried on EAGAIN); the
/// original spec is kept in the backend as <c>tapdisk-params</c> and a tap2 backend's <c>params</c> is the tap
/// device. Then it waits for the backend to reach InitWait and for <c>hotplug-status</c>. When any step fails,
/// everything done so far is undone (nodes removed, tap device released) and a
/// <see cref="BlktapOperationException"/> names the step.
/// </para>
/// <para>
/// Destroy: the backend gets <c>online</c> = 0 and state Closing; once it is Closed the backend and frontend nodes
/// go, then the tap device is released, and the <c>/vm</c> record goes last. The record also holds the tap device
/// path (<c>tapdev</c>), so a destroy that failed half way can be run again and finishes the job.
/// </para>
/// <para>
/// The manager holds no state of its own: everything it knows is in xenstore, so any number of operations on
/// different devices may run at once, from several managers too.
/// </para>
/// </remarks>
public sealed partial class BlktapDeviceManager
{
    private const string TapdiskParamsNode = "tapdisk-params";
    private const string TapDeviceRecordNode = "tapdev";

    private readonly IDeviceStore _store;
    private readonly ITapBackend _host;
    private readonly BlktapManagerOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates a manager working on <paramref name="store"/> with tap devices from <paramref name="host"/>.</summary>
    public BlktapDeviceManager(IDeviceStore store, ITapBackend host, BlktapManagerOptions? options = null, ILogger<BlktapDeviceManager>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(host);
        _store = store;
        _host = host;
        _options = options ?? new BlktapManagerOptions();
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>
    /// Creates and attaches a disk: returns once the backend is at InitWait (or later) with <c>hotplug-status</c>
    /// <c>connected</c>.
    /// </summary>
    /// <exception cref="BlktapConfigurationException">A tap disk names an unknown driver (the message lists the allowed ones), or another device of the domain uses the same file.</exception>
    /// <exception cref="BlktapOperationException">A step failed (<see cref="BlktapOperationException.Step"/>); what was done is undone.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; what was done is undone.</exception>
    public async Task<BlktapDevice> CreateAsync(BlktapDomain domain, DiskEntry disk, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(disk);
        if (disk.Spec.IsTap && !TapDrivers.IsKnown(disk.Spec.Driver))
        {
            throw new BlktapConfigurationException(
                $"Disk {disk.Spec} ({disk.VirtualDevice}): tap:{disk.Spec.Driver} is not a valid disk type (allowed: {string.Join(", ", TapDrivers.Known)}).");
        }

        int deviceId = disk.DeviceNumber;
        BlktapStep step = BlktapStep.ChooseClass;
        DeviceClass? deviceClass = null;
        TapDevice? tap = null;
        bool nodesWritten = false;
        try
        {
            await CheckBackingFileUnusedAsync(domain, disk, cancellationToken).ConfigureAwait(false);
            bool blktap2 = disk.Spec.IsTap && await _host.IsBlktap2PresentAsync(cancellationToken).ConfigureAwait(false);
            deviceClass = DeviceClasses.Choose(disk.Spec, blktap2);
            Log.ClassChosen(_logger, domain.DomainId, deviceId, disk.VirtualDevice, disk.Spec.ToString(), deviceClass.Value.Name(), blktap2);

            if (deviceClass == DeviceClass.Tap2)
            {
                step = BlktapStep.StartTap;
                tap = await _host.CreateAsync(disk.Spec.Driver!, disk.Spec.Path, cancellationToken).ConfigureAwait(false);
                Log.TapStarted(_logger, domain.DomainId, deviceId, tap.DevicePath, _host.Name);
            }

            var device = new BlktapDevice(domain, disk, deviceClass.Value, tap);
            step = BlktapStep.WriteNodes;
            await WriteNodesAsync(device, cancellationToken).ConfigureAwait(false);
            nodesWritten = true;
            Log.NodesWritten(_logger, domain.DomainId, deviceId, device.BackendPath, device.FrontendPath, device.VmDevicePath);

            step = BlktapStep.WaitForInitWait;
            (XenbusState state, string hotplug) = await WaitForConnectionAsync(device, s => step = s, cancellationToken).ConfigureAwait(false);
            Log.BackendReady(_logger, domain.DomainId, deviceId, state.ToString(), hotplug);
            Log.Created(_logger, domain.DomainId, deviceId, deviceClass.Value.Name(), disk.Spec.ToString());
            return device;
        }
        catch (BlktapConfigurationException)
        {
            // Refused before anything was done.
            throw;
        }
        catch (Exception error)
        {
            Exception? undoError = await UndoCreateAsync(domain, deviceId, deviceClass, tap, nodesWritten).ConfigureAwait(false);
            if (error is OperationCanceledException && undoError is null)
            {
                throw;
            }

            Log.StepFailed(_logger, error, domain.DomainId, deviceId, "create", step);
            string undone = undoError is null
                ? "everything done was undone"
                : $"undoing it failed too, so something may be left behind: {undoError.Message}";
            throw new BlktapOperationException(
                $"Creating device {deviceId} ({disk.VirtualDevice}, {disk.Spec}) of domain {domain.DomainId} failed at {step}: {error.Message} ({undone}).",
                step, domain.DomainId, deviceId, deviceClass, error, undoError);
        }
    }

    /// <summary>
    /// Destroys a device: closes the backend, waits for Closed, removes the nodes, releases the tap device and
    /// removes the record. Safe to run again after a failure. The class is looked up when not given.
    /// </summary>
    /// <exception cref="BlktapOperationException">A step failed (<see cref="BlktapOperationException.Step"/>); <see cref="BlktapStep.Lookup"/> when the domain has no such device.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task DestroyAsync(BlktapDomain domain, int deviceId, DeviceClass? deviceClass = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(domain);
        BlktapStep step = BlktapStep.Lookup;
        try
        {
            deviceClass ??= await GetDeviceClassAsync(domain, deviceId, cancellationToken).ConfigureAwait(false)
                ?? throw new BlktapException($"Domain {domain.DomainId} has no block device {deviceId}.");
            DeviceClass cls = deviceClass.Value;
            string record = domain.VmDevicePath(cls, deviceId);
            string backend = await _store.ReadAsync($"{record}/backend", cancellationToken).ConfigureAwait(false) ?? domain.BackendPath(cls, deviceId);
            string frontend = await _store.ReadAsync($"{record}/frontend", cancellationToken).ConfigureAwait(false) ?? domain.FrontendPath(deviceId);
            string? tapPath = cls != DeviceClass.Tap2 ? null
                : await _store.ReadAsync($"{record}/{TapDeviceRecordNode}", cancellationToken).ConfigureAwait(false)
                  ?? await _store.ReadAsync($"{backend}/params", cancellationToken).ConfigureAwait(false);

            step = BlktapStep.Shutdown;
            await _store.RunTransactionAsync<bool>(
                async (tx, token) =>
                {
                    if (await tx.ReadAsync($"{backend}/state", token).ConfigureAwait(false) is null)
                    {
                        return false;
                    }

                    await tx.WriteAsync($"{backend}/online", "0", token).ConfigureAwait(false);
                    await tx.WriteAsync($"{backend}/state", XenbusStateText.Format(XenbusState.Closing), token).ConfigureAwait(false);
                    return true;
                },
                cancellationToken).ConfigureAwait(false);
            Log.ShutdownRequested(_logger, domain.DomainId, deviceId, backend);

            step = BlktapStep.WaitForClosed;
            await WaitAsync(
                backend,
                async token =>
                {
                    XenbusState? state = XenbusStateText.Parse(await _store.ReadAsync($"{backend}/state", token).ConfigureAwait(false));
                    return (state is null or XenbusState.Closed, state, null);
                },
                "reach Closed",
                cancellationToken).ConfigureAwait(false);

            step = BlktapStep.RemoveNodes;
            await _store.RunTransactionAsync<bool>(
                async (tx, token) =>
                {
                    await RemoveDeviceDirectoryAsync(tx, backend, token).ConfigureAwait(false);
                    await RemoveDeviceDirectoryAsync(tx, frontend, token).ConfigureAwait(false);
                    return true;
                },
                cancellationToken).ConfigureAwait(false);
            Log.NodesRemoved(_logger, domain.DomainId, deviceId);

            step = BlktapStep.WaitForBackendRemoval;
            await WaitAsync(
                backend,
                async token =>
                {
                    bool gone = await _store.ReadAsync(backend, token).ConfigureAwait(false) is null;
                    XenbusState? state = gone ? null : XenbusStateText.Parse(await _store.ReadAsync($"{backend}/state", token).ConfigureAwait(false));
                    return (gone, state, null);
                },
                "be removed",
                cancellationToken).ConfigureAwait(false);

            if (tapPath is not null && TapDevice.TryParseMinor(tapPath, out int minor))
            {
                step = BlktapStep.ReleaseTap;
                bool existed = await _host.ReleaseAsync(minor, cancellationToken).ConfigureAwait(false);
                Log.TapReleased(_logger, domain.DomainId, deviceId, tapPath, existed);
            }

            step = BlktapStep.RemoveRecord;
            await _store.RunTransactionAsync<bool>(
                async (tx, token) =>
                {
                    await RemoveDeviceDirectoryAsync(tx, record, token).ConfigureAwait(false);
                    return true;
                },
                cancellationToken).ConfigureAwait(false);
            Log.Destroyed(_logger, domain.DomainId, deviceId, cls.Name());
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            Log.StepFailed(_logger, error, domain.DomainId, deviceId, "destroy", step);
            throw new BlktapOperationException(
                $"Destroying device {deviceId} of domain {domain.DomainId} failed at {step}: {error.Message}",
                step, domain.DomainId, deviceId, deviceClass, error);
        }
    }

    /// <summary>Pauses every tap2 device of the domain whose backend serves a tap device; a failure is reported for its device and the others go on.</summary>
    /// <exception cref="Xen.Store.XenStoreException">The domain's device records could not be listed.</exception>
    public Task<IReadOnlyList<DeviceOperationResult>> PauseDomainAsync(BlktapDomain domain, CancellationToken cancellationToken = default) =>
        ForEachTapAsync(domain, pause: true, cancellationToken);

    /// <summary>Resumes every tap2 device of the domain; a failure is reported for its device and the others go on.</summary>
    /// <exception cref="Xen.Store.XenStoreException">The domain's device records could not be listed.</exception>
    public Task<IReadOnlyList<DeviceOperationResult>> UnpauseDomainAsync(BlktapDomain domain, CancellationToken cancellationToken = default) =>
        ForEachTapAsync(domain, pause: false, cancellationToken);

    /// <summary>
    /// Destroys every block device recorded for the domain (vbd, tap and tap2), all at once; one result per device,
    /// failures included.
    /// </summary>
    /// <exception cref="Xen.Store.XenStoreException">The domain's device records could not be listed (nothing was destroyed).</exception>
    public async Task<IReadOnlyList<DeviceOperationResult>> TeardownDomainAsync(BlktapDomain domain, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var devices = new List<(DeviceClass Class, int DeviceId)>();
        foreach (DeviceClass cls in DeviceClasses.All)
        {
            foreach (int deviceId in await ListDevicesAsync(domain, cls, cancellationToken).ConfigureAwait(false))
            {
                devices.Add((cls, deviceId));
            }
        }

        DeviceOperationResult[] results = await Task.WhenAll(devices.Select(d => DestroyForResultAsync(domain, d.DeviceId, d.Class, cancellationToken))).ConfigureAwait(false);
        Log.TornDown(_logger, domain.DomainId, results.Count(static r => r.Succeeded), results.Count(static r => !r.Succeeded));
        return results;
    }


    /// <summary>The check a toolstack makes before attaching a disk to a running domain: no other device of the domain uses the same file.</summary>
    private async ValueTask CheckBackingFileUnusedAsync(BlktapDomain domain, DiskEntry disk, CancellationToken cancellationToken)
    {
        foreach (DeviceClass cls in DeviceClasses.All)
        {
            foreach (int other in await ListDevicesAsync(domain, cls, cancellationToken).ConfigureAwait(false))
            {
                string? uname = await _store.ReadAsync($"{domain.VmDevicePath(cls, other)}/uname", cancellationToken).ConfigureAwait(false);
                if (other != disk.DeviceNumber && DiskSpec.TryParse(uname, out DiskSpec? used, out _) && used.Path == disk.Spec.Path)
                {
                    throw new BlktapConfigurationException(
                        $"Disk {disk.Spec} ({disk.VirtualDevice}): the file {disk.Spec.Path} is already used by device {other} ({VirtualDevice.ToName(other) ?? "?"}) of domain {domain.DomainId}.");
                }
            }
        }
    }

    private static string Describe(XenbusState? state) => state is null ? "no state (no backend)" : $"{state} ({(int)state})";

    private async Task<DeviceOperationResult> DestroyForResultAsync(BlktapDomain domain, int deviceId, DeviceClass cls, CancellationToken cancellationToken)
    {
        try
        {
            await DestroyAsync(domain, deviceId, cls, cancellationToken).ConfigureAwait(false);
            return new DeviceOperationResult(domain.DomainId, deviceId, cls, null);
        }
        catch (BlktapException e)
        {
            return new DeviceOperationResult(domain.DomainId, deviceId, cls, e);
        }
    }

    private async Task<IReadOnlyList<DeviceOperationResult>> ForEachTapAsync(BlktapDomain domain, bool pause, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(domain);
        string action = pause ? "paused" : "resumed";
        var results = new List<DeviceOperationResult>();
        foreach (int deviceId in await ListDevicesAsync(domain, DeviceClass.Tap2, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                string record = domain.VmDevicePath(DeviceClass.Tap2, deviceId);
                string backend = await _store.ReadAsync($"{record}/backend", cancellationToken).ConfigureAwait(false) ?? domain.BackendPath(DeviceClass.Tap2, deviceId);
                string? tapPath = await _store.ReadAsync($"{backend}/params", cancellationToken).ConfigureAwait(false);
                if (!TapDevice.TryParseMinor(tapPath, out int minor))
                {
                    continue;
                }

                if (pause)
                {
                    await _host.PauseAsync(minor, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await _host.UnpauseAsync(minor, cancellationToken).ConfigureAwait(false);
                }

                Log.PauseChanged(_logger, domain.DomainId, deviceId, tapPath!, action);
                results.Add(new DeviceOperationResult(domain.DomainId, deviceId, DeviceClass.Tap2, null));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.PauseFailed(_logger, e, domain.DomainId, deviceId, pause ? "pause" : "unpause");
                var error = new BlktapOperationException(
                    $"{(pause ? "Pausing" : "Resuming")} device {deviceId} of domain {domain.DomainId} failed: {e.Message}",
                    pause ? BlktapStep.Pause : BlktapStep.Unpause, domain.DomainId, deviceId, DeviceClass.Tap2, e);
                results.Add(new DeviceOperationResult(domain.DomainId, deviceId, DeviceClass.Tap2, error));
            }
        }

        return results;
    }


    private async ValueTask<(XenbusState State, string Hotplug)> WaitForConnectionAsync(BlktapDevice device, Action<BlktapStep> setStep, CancellationToken cancellationToken)
    {
        string backend = device.BackendPath;
        (XenbusState? state, string? hotplug) = await WaitAsync(
            backend,
            async token =>
            {
                XenbusState? state = XenbusStateText.Parse(await _store.ReadAsync($"{backend}/state", token).ConfigureAwait(false));
                string? hotplug = await _store.ReadAsync($"{backend}/hotplug-status", token).ConfigureAwait(false);
                if (state is null)
                {
                    throw new BlktapException($"The backend {backend} was removed while waiting for it to connect.");
                }

                if (state is XenbusState.Closing or XenbusState.Closed)
                {
                    throw new BlktapException($"The backend {backend} went to {Describe(state)} instead of InitWait.");
                }

                bool atInitWait = state is XenbusState.InitWait or XenbusState.Initialised or XenbusState.Connected;
                setStep(atInitWait ? BlktapStep.WaitForHotplug : BlktapStep.WaitForInitWait);
                if (hotplug is not null && hotplug != "connected")
                {
                    setStep(BlktapStep.WaitForHotplug);
                    string? detail = await _store.ReadAsync($"{backend}/hotplug-error", token).ConfigureAwait(false);
                    throw new BlktapException($"The hotplug script reported '{hotplug}' for {backend}{(detail is null ? string.Empty : $": {detail}")}.");
                }

                return (atInitWait && hotplug == "connected", state, hotplug);
            },
            "reach InitWait with hotplug-status connected",
            cancellationToken).ConfigureAwait(false);
        return (state!.Value, hotplug!);
    }

    private async ValueTask<(XenbusState? State, string? Hotplug)> WaitAsync(
        string backend,
        Func<CancellationToken, ValueTask<(bool Done, XenbusState? State, string? Hotplug)>> check,
        string goal,
        CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.DeviceTimeout);
        (bool Done, XenbusState? State, string? Hotplug) seen = (false, null, null);
        try
        {
            IDeviceStoreWatch watch = await _store.WatchAsync(backend, timeout.Token).ConfigureAwait(false);
            await using (watch.ConfigureAwait(false))
            {
                while (true)
                {
                    seen = await check(timeout.Token).ConfigureAwait(false);
                    if (seen.Done)
                    {
                        return (seen.State, seen.Hotplug);
                    }

                    await watch.WaitAsync(timeout.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The deadline may have cut a look short (or come before the first): look once more, so the error names
            // the state as it is, and a state that arrived at the deadline still counts.
            seen = await check(cancellationToken).ConfigureAwait(false);
            if (seen.Done)
            {
                return (seen.State, seen.Hotplug);
            }

            throw new DeviceTimeoutException(
                $"The backend {backend} did not {goal} within {_options.DeviceTimeout.TotalSeconds:0.###} s; it was last seen in state {Describe(seen.State)}, hotplug-status {seen.Hotplug ?? "(none)"}.",
                backend, seen.State, seen.Hotplug);
        }
    }

    private async ValueTask<Exception?> UndoCreateAsync(BlktapDomain domain, int deviceId, DeviceClass? deviceClass, TapDevice? tap, bool nodesWritten)
    {
        if (!nodesWritten && tap is null)
        {
            return null;
        }

        // Each part is tried a few times: a transient failure must not leave a tap device that nothing records.
        Exception? error = null;
        if (nodesWritten && deviceClass is { } cls)
        {
            error = await RetryAsync(async () => await _store.RunTransactionAsync<bool>(
                async (tx, token) =>
                {
                    await RemoveDeviceDirectoryAsync(tx, domain.BackendPath(cls, deviceId), token).ConfigureAwait(false);
                    await RemoveDeviceDirectoryAsync(tx, domain.FrontendPath(deviceId), token).ConfigureAwait(false);
                    await RemoveDeviceDirectoryAsync(tx, domain.VmDevicePath(cls, deviceId), token).ConfigureAwait(false);
                    return true;
                },
                CancellationToken.None).ConfigureAwait(false)).ConfigureAwait(false);
        }

        if (tap is not null)
        {
            error ??= await RetryAsync(async () => await _host.ReleaseAsync(tap.Minor, CancellationToken.None).ConfigureAwait(false)).ConfigureAwait(false);
        }

        if (error is null)
        {
            Log.Undone(_logger, domain.DomainId, deviceId, nodesWritten, tap is not null);
        }
        else
        {
            Log.UndoFailed(_logger, error, domain.DomainId, deviceId);
        }

        return error;
    }

    private async ValueTask<Exception?> RetryAsync(Func<Task> action)
    {
        Exception? last = null;
        for (int attempt = 0; attempt < Math.Max(1, _options.UndoAttempts); attempt++)
        {
            try
            {
                await action().ConfigureAwait(false);
                return null;
            }
            catch (Exception e) when (e is BlktapException or Xen.Store.XenStoreException or IOException)
            {
                last = e;
            }
        }

        return last;
    }
}
