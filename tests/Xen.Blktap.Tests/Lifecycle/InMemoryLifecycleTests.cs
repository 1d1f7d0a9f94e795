using Xen.Blktap.Backend;
using Xen.Blktap.Host;
using Xen.Blktap.Lifecycle;
using Xen.Blktap.Model;
using Xen.Blktap.Tests.Support;
using Xen.Store.Xenbus;

namespace Xen.Blktap.Tests.Lifecycle;

/// <summary>The lifecycle against the in-memory store, the simulated blkback and the simulated tap backend.</summary>
public sealed class InMemoryLifecycleTests : IAsyncLifetime, IDisposable
{
    private readonly InMemoryDeviceStore _store = new();
    private readonly SimulatedTapBackend _host = new();
    private SimulatedBlkback? _blkback;

    private static readonly BlktapDomain Domain = new(5, "vm-five");

    public async Task InitializeAsync() => _blkback = await SimulatedBlkback.StartAsync(_store);

    public async Task DisposeAsync()
    {
        if (_blkback is not null)
        {
            await _blkback.DisposeAsync();
        }

    }

    public void Dispose() => _store.Dispose();

    private BlktapDeviceManager Manager(TimeSpan? timeout = null) =>
        new(_store, _host, new BlktapManagerOptions { DeviceTimeout = timeout ?? TimeSpan.FromSeconds(20) });

    [Fact]
    public async Task Create_writes_a_vbd_backend_serving_the_tap_device_and_keeps_the_spec()
    {
        BlktapDevice device = await Manager().CreateAsync(Domain, DiskEntry.Parse("tap:vhd:/img/a.vhd", "xvda"));
        Assert.Equal(DeviceClass.Tap2, device.DeviceClass);
        Assert.Equal("/local/domain/0/backend/vbd/5/51712", device.BackendPath);
        Assert.Equal("/dev/xen/blktap-2/tapdev0", await _store.ReadAsync($"{device.BackendPath}/params"));
        Assert.Equal("tap:vhd:/img/a.vhd", await _store.ReadAsync($"{device.BackendPath}/tapdisk-params"));
        Assert.Equal("phy", await _store.ReadAsync($"{device.BackendPath}/type"));
        Assert.Equal("connected", await _store.ReadAsync($"{device.BackendPath}/hotplug-status"));
        Assert.Equal(device.FrontendPath, await _store.ReadAsync("/vm/vm-five/device/tap2/51712/frontend"));
        Assert.Equal(device.BackendPath, await _store.ReadAsync("/local/domain/5/device/vbd/51712/backend"));
        Assert.Equal("51712", await _store.ReadAsync("/local/domain/5/device/vbd/51712/virtual-device"));
        Assert.Equal([0], (await _host.ListAsync()).Select(d => d.Minor));
        DeviceStatus? status = await Manager().GetStatusAsync(Domain, 51712);
        Assert.NotNull(status);
        Assert.Equal(XenbusState.InitWait, status.BackendState);
        Assert.Equal("/dev/xen/blktap-2/tapdev0", status.TapDevicePath);
    }

    [Fact]
    public async Task Without_blktap2_a_tap_disk_falls_back_to_blktap1_with_no_tap_device()
    {
        _host.Blktap2Present = false;
        BlktapDevice device = await Manager().CreateAsync(Domain, DiskEntry.Parse("tap:aio:/img/a", "xvdb"));
        Assert.Equal(DeviceClass.Tap, device.DeviceClass);
        Assert.Equal("/local/domain/0/backend/tap/5/51728", device.BackendPath);
        Assert.Equal("aio:/img/a", await _store.ReadAsync($"{device.BackendPath}/params"));
        Assert.Empty(await _host.ListAsync());
        Assert.Equal(DeviceClass.Tap, await Manager().GetDeviceClassAsync(Domain, 51728));
        await Manager().DestroyAsync(Domain, 51728);
        Assert.Null(await Manager().GetDeviceClassAsync(Domain, 51728));
    }

    [Fact]
    public async Task The_backend_reaches_Connected_when_the_frontend_connects_and_destroy_removes_everything()
    {
        BlktapDeviceManager manager = Manager();
        BlktapDevice device = await manager.CreateAsync(Domain, DiskEntry.Parse("tap:aio:/img/a", "xvda"));
        await _store.WriteAsync($"{device.FrontendPath}/state", "4");
        await Xen.TestSupport.Peers.Deadline.PollAsync(
            () => _store.ReadAsync($"{device.BackendPath}/state").AsTask().Result == "4",
            () => "the backend did not connect");
        await manager.DestroyAsync(Domain, device.DeviceId);
        Assert.Empty(await _host.ListAsync());
        Assert.Equal([0], _host.ReleasedMinors);
        Assert.Empty(Leftovers.DeviceNodes(_store.Snapshot()));
    }

    [Fact]
    public async Task A_backend_that_never_reaches_InitWait_times_out_naming_the_state_and_everything_is_undone()
    {
        await _blkback!.DisposeAsync();
        _blkback = null;
        var e = await Assert.ThrowsAsync<BlktapOperationException>(() =>
            Manager(TimeSpan.FromMilliseconds(300)).CreateAsync(Domain, DiskEntry.Parse("tap:aio:/img/a", "xvda")));
        Assert.Equal(BlktapStep.WaitForInitWait, e.Step);
        var timeout = Assert.IsType<DeviceTimeoutException>(e.InnerException);
        Assert.Equal(XenbusState.Initialising, timeout.LastState);
        Assert.Contains("last seen in state Initialising (1)", e.Message, StringComparison.Ordinal);
        Assert.Null(e.UndoError);
        Assert.Empty(await _host.ListAsync());
        Assert.Equal([0], _host.ReleasedMinors);
        Assert.Empty(Leftovers.DeviceNodes(_store.Snapshot()));
    }

    [Fact]
    public async Task A_failing_hotplug_script_fails_the_create_with_its_error()
    {
        await _blkback!.DisposeAsync();
        _blkback = await SimulatedBlkback.StartAsync(_store, new SimulatedBlkbackOptions { HotplugStatus = "error", HotplugError = "losetup failed" });
        var e = await Assert.ThrowsAsync<BlktapOperationException>(() => Manager().CreateAsync(Domain, DiskEntry.Parse("phy:/dev/sdz", "hda")));
        Assert.Equal(BlktapStep.WaitForHotplug, e.Step);
        Assert.Contains("losetup failed", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_store.Snapshot(), p => p.Contains("/768", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failing_tap_start_is_reported_at_StartTap_and_writes_nothing()
    {
        _host.InjectFailure = (op, _) => op == TapOperation.Create ? new TapBackendException(TapOperation.Create, "tapdisk2 -n aio:/x failed: exit code 1") : null;
        var e = await Assert.ThrowsAsync<BlktapOperationException>(() => Manager().CreateAsync(Domain, DiskEntry.Parse("tap:aio:/x", "xvda")));
        Assert.Equal(BlktapStep.StartTap, e.Step);
        Assert.IsType<TapBackendException>(e.InnerException);
        Assert.DoesNotContain(_store.Snapshot(), p => p.Contains("51712", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Creating_a_device_twice_fails_without_touching_the_first()
    {
        BlktapDeviceManager manager = Manager();
        await manager.CreateAsync(Domain, DiskEntry.Parse("tap:aio:/img/a", "xvda"));
        var e = await Assert.ThrowsAsync<BlktapOperationException>(() => manager.CreateAsync(Domain, DiskEntry.Parse("tap:aio:/img/b", "xvda")));
        Assert.Equal(BlktapStep.WriteNodes, e.Step);
        Assert.Equal("/dev/xen/blktap-2/tapdev0", await _store.ReadAsync("/local/domain/0/backend/vbd/5/51712/params"));
        Assert.Equal([0], (await _host.ListAsync()).Select(d => d.Minor));
        Assert.Equal([1], _host.ReleasedMinors);
    }

    [Fact]
    public async Task An_unknown_driver_is_refused_before_anything_happens()
    {
        var e = await Assert.ThrowsAsync<BlktapConfigurationException>(() => Manager().CreateAsync(Domain, DiskEntry.Parse("tap:bogus:/x", "xvda")));
        Assert.Contains("allowed: aio, sync", e.Message, StringComparison.Ordinal);
        Assert.Single(_store.Snapshot());
    }

    [Fact]
    public async Task Pause_failures_are_per_device()
    {
        BlktapDeviceManager manager = Manager();
        await manager.CreateAsync(Domain, DiskEntry.Parse("tap:aio:/img/a", "xvda"));
        await manager.CreateAsync(Domain, DiskEntry.Parse("tap:vhd:/img/b", "xvdb"));
        await manager.CreateAsync(Domain, DiskEntry.Parse("phy:/dev/c", "xvdc"));
        _host.InjectFailure = (op, minor) => op == TapOperation.Pause && minor == 0 ? new TapBackendException("pause refused") : null;
        IReadOnlyList<DeviceOperationResult> paused = await manager.PauseDomainAsync(Domain);
        Assert.Equal(2, paused.Count);
        Assert.False(paused.Single(r => r.DeviceId == 51712).Succeeded);
        Assert.Equal(BlktapStep.Pause, Assert.IsType<BlktapOperationException>(paused.Single(r => r.DeviceId == 51712).Error).Step);
        Assert.True(paused.Single(r => r.DeviceId == 51728).Succeeded);
        Assert.True(_host.IsPaused(1));
        Assert.False(_host.IsPaused(0));
        _host.InjectFailure = null;
        Assert.All(await manager.UnpauseDomainAsync(Domain), r => Assert.True(r.Succeeded));
        Assert.False(_host.IsPaused(1));
    }

    [Fact]
    public async Task Teardown_releases_every_device_once_and_reports_each()
    {
        BlktapDeviceManager manager = Manager();
        await Task.WhenAll(
            manager.CreateAsync(Domain, DiskEntry.Parse("tap:aio:/img/a", "xvda")),
            manager.CreateAsync(Domain, DiskEntry.Parse("tap:vhd:/img/b", "xvdb")),
            manager.CreateAsync(Domain, DiskEntry.Parse("tap:sync:/img/c", "hda")),
            manager.CreateAsync(Domain, DiskEntry.Parse("phy:/dev/d", "sda")));
        IReadOnlyList<DeviceOperationResult> results = await manager.TeardownDomainAsync(Domain);
        Assert.Equal(4, results.Count);
        Assert.All(results, r => Assert.True(r.Succeeded, r.Error?.ToString()));
        Assert.Equal([0, 1], _host.ReleasedMinors.Order());
        Assert.Empty(await _host.ListAsync());
        Assert.Empty(Leftovers.DeviceNodes(_store.Snapshot()));
    }

    [Fact]
    public async Task Destroy_finds_a_tap2_device_by_its_recorded_frontend_path()
    {
        BlktapDeviceManager manager = Manager();
        await manager.CreateAsync(Domain, DiskEntry.Parse("tap:aio:/img/a", "xvda"));
        await manager.CreateAsync(Domain, DiskEntry.Parse("phy:/dev/b", "xvdb"));
        Assert.Equal(DeviceClass.Tap2, await manager.GetDeviceClassAsync(Domain, 51712));
        Assert.Equal(DeviceClass.Vbd, await manager.GetDeviceClassAsync(Domain, 51728));
        await manager.DestroyAsync(Domain, 51712);
        Assert.Equal([0], _host.ReleasedMinors);
        var e = await Assert.ThrowsAsync<BlktapOperationException>(() => manager.DestroyAsync(Domain, 51712));
        Assert.Equal(BlktapStep.Lookup, e.Step);
    }

    [Fact]
    public async Task Hotplug_cleanup_looks_under_tap2_when_the_vbd_record_is_missing()
    {
        await _store.WriteAsync("/local/domain/5/vm", "/vm/vm-five");
        BlktapDeviceManager manager = Manager();
        await manager.CreateAsync(Domain, DiskEntry.Parse("tap:aio:/img/a", "xvda"));
        await manager.CreateAsync(Domain, DiskEntry.Parse("phy:/dev/b", "xvdb"));
        Assert.Equal("/vm/vm-five/device/tap2/51712", await HotplugCleanup.ResolveVmDevicePathAsync(_store, "/local/domain/0/backend/vbd/5/51712"));
        Assert.Equal("/vm/vm-five/device/vbd/51728", await HotplugCleanup.ResolveVmDevicePathAsync(_store, "/local/domain/0/backend/vbd/5/51728"));
        Assert.Equal("/vm/vm-five/device/tap2/51712", await HotplugCleanup.RunAsync(_store, "/local/domain/0/backend/vbd/5/51712"));
        Assert.Null(await _store.ReadAsync("/vm/vm-five/device/tap2/51712"));
        Assert.Null(await _store.ReadAsync("/local/domain/0/backend/vbd/5/51712"));
        Assert.NotNull(await _store.ReadAsync("/vm/vm-five/device/vbd/51728"));
        Assert.Throws<ArgumentException>(() => HotplugCleanup.ResolveVmDevicePathAsync(_store, "/local/domain/5/device/vbd/1").AsTask().GetAwaiter().GetResult());
    }

    [Fact]
    public async Task Cancelling_a_create_undoes_it()
    {
        await _blkback!.DisposeAsync();
        _blkback = null;
        using var cancel = new CancellationTokenSource();
        Task<BlktapDevice> create = Manager().CreateAsync(Domain, DiskEntry.Parse("tap:aio:/img/a", "xvda"), cancel.Token);
        await Xen.TestSupport.Peers.Deadline.PollAsync(() => _store.Snapshot().Contains("/local/domain/0/backend/vbd/5/51712/state"), () => "the create never wrote its nodes");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => create);
        Assert.Empty(await _host.ListAsync());
        Assert.DoesNotContain(_store.Snapshot(), p => p.Contains("51712", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_backend_that_never_closes_fails_the_destroy_at_WaitForClosed_and_a_second_destroy_finishes()
    {
        BlktapDevice device = await Manager().CreateAsync(Domain, DiskEntry.Parse("tap:aio:/img/a", "xvda"));
        await _blkback!.DisposeAsync();
        _blkback = null;
        var e = await Assert.ThrowsAsync<BlktapOperationException>(() => Manager(TimeSpan.FromMilliseconds(300)).DestroyAsync(Domain, device.DeviceId));
        Assert.Equal(BlktapStep.WaitForClosed, e.Step);
        Assert.Contains("did not reach Closed", e.Message, StringComparison.Ordinal);
        Assert.Contains("last seen in state Closing (5)", e.Message, StringComparison.Ordinal);
        Assert.Equal("0", await _store.ReadAsync($"{device.BackendPath}/online"));
        Assert.Single(await _host.ListAsync());

        _blkback = await SimulatedBlkback.StartAsync(_store);
        await Manager().DestroyAsync(Domain, device.DeviceId);
        Assert.Empty(await _host.ListAsync());
        Assert.Equal([0], _host.ReleasedMinors);
        Assert.Empty(Leftovers.DeviceNodes(_store.Snapshot()));
    }

    [Fact]
    public async Task Attaching_a_file_another_device_of_the_domain_uses_is_refused()
    {
        BlktapDeviceManager manager = Manager();
        await manager.CreateAsync(Domain, DiskEntry.Parse("tap:aio:/img/a", "xvda"));
        var e = await Assert.ThrowsAsync<BlktapConfigurationException>(() => manager.CreateAsync(Domain, DiskEntry.Parse("tap:vhd:/img/a", "xvdb")));
        Assert.Contains("the file /img/a is already used by device 51712 (xvda) of domain 5", e.Message, StringComparison.Ordinal);
        Assert.Single(await _host.ListAsync());
        await manager.CreateAsync(new BlktapDomain(6, "vm-six"), DiskEntry.Parse("tap:vhd:/img/b", "xvdb"));
    }

    [Fact]
    public async Task A_hotplug_error_before_InitWait_fails_the_create_at_once()
    {
        await _blkback!.DisposeAsync();
        _blkback = null;
        Task<BlktapDevice> create = Manager().CreateAsync(Domain, DiskEntry.Parse("phy:/dev/sdz", "xvdc"));
        await Xen.TestSupport.Peers.Deadline.PollAsync(() => _store.Snapshot().Contains("/local/domain/0/backend/vbd/5/51744/state"), () => "the create never wrote its nodes");
        await _store.WriteAsync("/local/domain/0/backend/vbd/5/51744/hotplug-error", "no such device /dev/sdz");
        await _store.WriteAsync("/local/domain/0/backend/vbd/5/51744/hotplug-status", "error");
        var e = await Assert.ThrowsAsync<BlktapOperationException>(() => create);
        Assert.Equal(BlktapStep.WaitForHotplug, e.Step);
        Assert.Contains("no such device /dev/sdz", e.Message, StringComparison.Ordinal);
        Assert.Empty(Leftovers.DeviceNodes(_store.Snapshot()));
    }
}
