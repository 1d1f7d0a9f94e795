using Xen.Blktap.Backend;
using Xen.Blktap.Host;
using Xen.Blktap.Lifecycle;
using Xen.Blktap.Model;
using Xen.Blktap.DeviceStore;
using Xen.Store.Xenbus;

namespace Xen.Tool.Demo;

/// <summary>
/// The demo's disk part: a <c>tap2</c> disk for the guest through the whole blktap2 lifecycle, with the simulated
/// tap host and the simulated blkback following the xenbus handshake in the embedded xenstored.
/// </summary>
internal static class DiskDemo
{
    public static async Task RunAsync(StoreDemo store, TextWriter output, DemoChecks checks, CancellationToken cancellationToken)
    {
        var deviceStore = new XenStoreDeviceStore(store.Dom0);
        var host = new SimulatedTapBackend();
        await using SimulatedBlkback blkback = await SimulatedBlkback.StartAsync(deviceStore, cancellationToken: cancellationToken).ConfigureAwait(false);
        var manager = new BlktapDeviceManager(deviceStore, host, new BlktapManagerOptions { DeviceTimeout = TimeSpan.FromSeconds(30) });
        var domain = new BlktapDomain(StoreDemo.GuestDomain, "00000000-0000-0000-0000-000000000005");

        DiskEntry disk = DiskEntry.Parse("tap:aio:/images/demo-root.img", "xvda");
        BlktapDevice device = await manager.CreateAsync(domain, disk, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"   tap:aio:/images/demo-root.img as xvda (device {device.DeviceId}): class {device.DeviceClass}, tap device {device.TapDevice?.DevicePath}");
        checks.Add("xvda is device 51712 of class tap2", device.DeviceId == 51712 && device.DeviceClass == DeviceClass.Tap2);
        DeviceStatus? status = await manager.GetStatusAsync(domain, device.DeviceId, cancellationToken).ConfigureAwait(false);
        checks.Add("the backend reached InitWait with hotplug-status connected", status is { BackendState: XenbusState.InitWait, HotplugStatus: "connected" });
        output.WriteLine($"   backend {device.BackendPath}: {status?.BackendState}, hotplug-status {status?.HotplugStatus}");
        await store.PrintTreeAsync(output, "the tap2 disk attached", device.BackendPath, cancellationToken).ConfigureAwait(false);
        await store.PrintTreeAsync(output, "its /vm record", $"/vm/{domain.VmUuid}/device", cancellationToken).ConfigureAwait(false);

        IReadOnlyList<DeviceOperationResult> paused = await manager.PauseDomainAsync(domain, cancellationToken).ConfigureAwait(false);
        bool pausedOk = paused.Count == 1 && paused[0].Succeeded && device.TapDevice is { } tap && host.IsPaused(tap.Minor);
        IReadOnlyList<DeviceOperationResult> resumed = await manager.UnpauseDomainAsync(domain, cancellationToken).ConfigureAwait(false);
        bool resumedOk = resumed.Count == 1 && resumed[0].Succeeded && device.TapDevice is { } tap2 && !host.IsPaused(tap2.Minor);
        checks.Add("pause and unpause reached the tap device", pausedOk && resumedOk);
        output.WriteLine($"   paused the domain's tap2 devices ({paused.Count}: {(pausedOk ? "ok" : "FAILED")}), then resumed them ({(resumedOk ? "ok" : "FAILED")})");

        IReadOnlyList<DeviceOperationResult> released = await manager.TeardownDomainAsync(domain, cancellationToken).ConfigureAwait(false);
        bool gone = !await store.Dom0.ExistsAsync(device.BackendPath, cancellationToken).ConfigureAwait(false)
            && !await store.Dom0.ExistsAsync(device.FrontendPath, cancellationToken).ConfigureAwait(false)
            && !await store.Dom0.ExistsAsync(device.VmDevicePath, cancellationToken).ConfigureAwait(false);
        checks.Add("teardown left no node and released the tap device once", released.All(r => r.Succeeded) && gone && host.ReleasedMinors.Count == 1);
        output.WriteLine($"   teardown: {released.Count} device(s) released; backend, frontend and /vm nodes {(gone ? "gone" : "STILL THERE")}; tap devices released: {host.ReleasedMinors.Count}");
    }
}
