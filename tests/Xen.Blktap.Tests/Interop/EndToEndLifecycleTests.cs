using Xen.Blktap.Backend;
using Xen.Blktap.DeviceStore;
using Xen.Blktap.Host;
using Xen.Blktap.Lifecycle;
using Xen.Blktap.Model;
using Xen.Blktap.Tests.Support;
using Xen.Store.Client;
using Xen.Store.Xenbus;
using Xen.TestSupport;
using Xen.TestSupport.Host;
using Xen.TestSupport.Peers;

namespace Xen.Blktap.Tests.Interop;

public enum HostKind
{
    Sysfs,
    TapCtl,
    Simulated,
}

/// <summary>
/// The whole lifecycle end to end, with the simulated blkback on its own connection and each host backend, run once
/// per xenstore: the real C xenstored (and oxenstored with tap-ctl) under the shim of the interop tests, and our
/// embedded server with the toolstack and blkback connected in process or on its Unix socket. Every target gets the
/// same assertions; the C CLIs read back what the toolstack wrote.
/// </summary>
[Trait("Category", "Interop")]
public sealed class EndToEndLifecycleTests
{
    private sealed class Rig : IAsyncDisposable
    {
        public required LifecycleStore Xenstore { get; init; }
        public required XenStoreClient Toolstack { get; init; }
        public required XenStoreClient BackendConnection { get; init; }
        public required HostTree Tree { get; init; }
        public required ITapBackend Host { get; init; }
        public required IDeviceStore Store { get; init; }
        public required ListLogger<BlktapDeviceManager> Log { get; init; }
        public SimulatedBlkback? Blkback { get; set; }
        public required BlktapDeviceManager Manager { get; init; }

        public static async Task<Rig> StartAsync(StoreTarget target, HostKind kind, bool blkback = true, TimeSpan? timeout = null, string? tapdisk2 = null)
        {
            LifecycleStore xenstore = await LifecycleStore.StartAsync(target);
            XenStoreClient toolstack = await xenstore.ConnectAsync();
            XenStoreClient backendConnection = await xenstore.ConnectAsync();
            var tree = new HostTree();
            ITapBackend host = kind switch
            {
                HostKind.Sysfs => new Blktap2SysfsBackend(tree.SysfsOptions(tapdisk2)),
                HostKind.TapCtl => new TapCtlBackend(tree.TapCtlOptions()),
                _ => new SimulatedTapBackend(),
            };
            var store = new XenStoreDeviceStore(toolstack);
            var log = new ListLogger<BlktapDeviceManager>();
            return new Rig
            {
                Xenstore = xenstore,
                Toolstack = toolstack,
                BackendConnection = backendConnection,
                Tree = tree,
                Host = host,
                Store = store,
                Log = log,
                Blkback = blkback ? await SimulatedBlkback.StartAsync(new XenStoreDeviceStore(backendConnection)) : null,
                Manager = new BlktapDeviceManager(store, host, new BlktapManagerOptions { DeviceTimeout = timeout ?? Deadline.Default }, log),
            };
        }

        /// <summary>The minors the host released, one entry per release.</summary>
        public IReadOnlyList<int> Released() => Host switch
        {
            Blktap2SysfsBackend => Tree.SysfsRemoved(),
            TapCtlBackend => Tree.TapCtlReleased(),
            SimulatedTapBackend s => s.ReleasedMinors,
            _ => throw new InvalidOperationException(),
        };

        public async Task<bool> IsPausedAsync(int minor) => Host switch
        {
            Blktap2SysfsBackend => Tree.ReadSysfs(minor, "pause") == "pause" && Tree.ReadSysfs(minor, "resume").Length == 0,
            TapCtlBackend t => (await t.ListEntriesAsync()).Single(e => e.Minor == minor).State == 2,
            SimulatedTapBackend s => s.IsPaused(minor),
            _ => throw new InvalidOperationException(),
        };

        public async Task AssertNothingLeftAsync()
        {
            Assert.Empty(Leftovers.DeviceNodes(await StoreWalk.AllAsync(Store, "/local", "/vm")));
            if (Host is Blktap2SysfsBackend)
            {
                // The stand-in kernel removes the sysfs directory just after the write, as a reader process.
                await Deadline.PollAsync(() => Tree.SysfsEntries().Count == 0 && Tree.DeviceNodes().Count == 0, () => $"sysfs entries left: {string.Join(", ", Tree.SysfsEntries())}");
            }

            Assert.Empty(await Host.ListAsync());
            Assert.True(Xenstore.CheckConsistency(), "the embedded server's tree is inconsistent");
        }

        public async ValueTask DisposeAsync()
        {
            if (Blkback is not null)
            {
                await Blkback.DisposeAsync();
            }

            await Toolstack.DisposeAsync();
            await BackendConnection.DisposeAsync();
            await Xenstore.DisposeAsync();
            Tree.Dispose();
        }
    }

    private static BlktapDomain Domain(uint id) => new(id, $"vm-{id}");

    /// <summary>The frontend goes to Connected (written with the C CLI); waits until the blkback follows.</summary>
    private static async Task ConnectFrontendAsync(Rig rig, BlktapDevice device)
    {
        await rig.Xenstore.WriteAsync($"{device.FrontendPath}/state", "4");
        await Deadline.RunAsync(
            async token =>
            {
                while ((await rig.Manager.GetStatusAsync(device.Domain, device.DeviceId, token))!.BackendState != XenbusState.Connected)
                {
                    await Task.Delay(Deadline.PollInterval, token);
                }
            },
            () => "the backend did not connect after the frontend did");
    }

    [Theory]
    [InlineData(StoreTarget.CXenstored, HostKind.Sysfs)]
    [InlineData(StoreTarget.CXenstored, HostKind.TapCtl)]
    [InlineData(StoreTarget.CXenstored, HostKind.Simulated)]
    [InlineData(StoreTarget.Oxenstored, HostKind.TapCtl)]
    [InlineData(StoreTarget.Embedded, HostKind.Sysfs)]
    [InlineData(StoreTarget.Embedded, HostKind.TapCtl)]
    [InlineData(StoreTarget.Embedded, HostKind.Simulated)]
    [InlineData(StoreTarget.EmbeddedSocket, HostKind.Sysfs)]
    [InlineData(StoreTarget.EmbeddedSocket, HostKind.TapCtl)]
    [InlineData(StoreTarget.EmbeddedSocket, HostKind.Simulated)]
    public async Task Several_domains_go_through_the_whole_lifecycle_and_leave_nothing_behind(StoreTarget target, HostKind kind)
    {
        await using Rig rig = await Rig.StartAsync(target, kind);
        BlktapDomain[] domains = [Domain(11), Domain(12), Domain(13)];
        var disks = new List<(BlktapDomain Domain, DiskEntry Disk)>();
        foreach (BlktapDomain d in domains)
        {
            await rig.Xenstore.WriteAsync($"/local/domain/{d.DomainId}/vm", d.VmPath);
            disks.Add((d, DiskEntry.Parse($"tap:aio:{rig.Tree.Image($"{d.DomainId}-a.img")}", "xvda")));
            disks.Add((d, DiskEntry.Parse($"tap:vhd:{rig.Tree.Image($"{d.DomainId}-b.vhd")}", "xvdb")));
            disks.Add((d, DiskEntry.Parse($"phy:/dev/vg/{d.DomainId}-c", "hda")));
        }

        disks.Add((domains[2], DiskEntry.Parse($"tap:sync:{rig.Tree.Image("13-d.img")}", "sda")));

        BlktapDevice[] devices = await Task.WhenAll(disks.Select(x => rig.Manager.CreateAsync(x.Domain, x.Disk)));

        BlktapDevice[] taps = [.. devices.Where(d => d.DeviceClass == DeviceClass.Tap2)];
        Assert.Equal(6, taps.Length);
        Assert.Equal(DeviceClass.Tap, devices.Single(d => d.Disk.VirtualDevice == "sda").DeviceClass);
        Assert.Equal(3, devices.Count(d => d.DeviceClass == DeviceClass.Vbd));
        int[] minors = [.. taps.Select(t => t.TapDevice!.Minor).Order()];
        Assert.Equal([0, 1, 2, 3, 4, 5], minors);
        Assert.Equal(minors, (await rig.Host.ListAsync()).Select(t => t.Minor));

        foreach (BlktapDevice device in devices)
        {
            // Read back through the C CLI: what another toolstack or a hotplug script would see.
            Assert.Equal(device.DeviceClass == DeviceClass.Tap2 ? device.TapDevice!.DevicePath : device.DeviceClass == DeviceClass.Tap ? device.Disk.Spec.TapArguments : device.Disk.Spec.Path,
                await rig.Xenstore.ReadAsync($"{device.BackendPath}/params"));
            Assert.Equal("connected", await rig.Xenstore.ReadAsync($"{device.BackendPath}/hotplug-status"));
            Assert.Equal(device.FrontendPath, await rig.Xenstore.ReadAsync($"{device.VmDevicePath}/frontend"));
            Assert.Equal(device.DeviceClass, await rig.Manager.GetDeviceClassAsync(device.Domain, device.DeviceId));
            if (device.DeviceClass == DeviceClass.Tap2)
            {
                Assert.Equal(device.Disk.Spec.ToString(), await rig.Xenstore.ReadAsync($"{device.BackendPath}/tapdisk-params"));
                Assert.Equal(device.VmDevicePath, await HotplugCleanup.ResolveVmDevicePathAsync(rig.Store, device.BackendPath));
            }
        }

        BlktapDevice first = devices[0];
        await ConnectFrontendAsync(rig, first);

        foreach (BlktapDomain d in domains)
        {
            IReadOnlyList<DeviceOperationResult> paused = await rig.Manager.PauseDomainAsync(d);
            Assert.Equal(2, paused.Count);
            Assert.All(paused, r => Assert.True(r.Succeeded, r.Error?.ToString()));
        }

        foreach (int minor in minors)
        {
            Assert.True(await rig.IsPausedAsync(minor), $"minor {minor} is not paused");
        }

        foreach (BlktapDomain d in domains)
        {
            Assert.All(await rig.Manager.UnpauseDomainAsync(d), r => Assert.True(r.Succeeded, r.Error?.ToString()));
        }

        foreach (int minor in minors)
        {
            Assert.False(await rig.IsPausedAsync(minor), $"minor {minor} is still paused");
        }

        BlktapDevice single = devices.Single(d => d.Domain.DomainId == 11 && d.Disk.VirtualDevice == "xvdb");
        await rig.Manager.DestroyAsync(single.Domain, single.DeviceId);
        Assert.Null(await rig.Manager.GetStatusAsync(single.Domain, single.DeviceId));
        // The stand-in kernel logs a sysfs remove from its own process, just after the write.
        await Deadline.PollAsync(() => rig.Released().Count > 0, () => "the tap device of the destroyed disk was not released");
        Assert.Equal([single.TapDevice!.Minor], rig.Released());

        IReadOnlyList<DeviceOperationResult>[] teardowns = await Task.WhenAll(domains.Select(d => rig.Manager.TeardownDomainAsync(d)));
        Assert.Equal([2, 3, 4], teardowns.Select(t => t.Count));
        Assert.All(teardowns.SelectMany(t => t), r => Assert.True(r.Succeeded, r.Error?.ToString()));

        await rig.AssertNothingLeftAsync();
        Assert.Equal(minors, rig.Released().Order());
        Assert.Equal(0, rig.Blkback!.FaultCount);

        IReadOnlyList<string> events = [.. rig.Log.Entries.Select(e => e.Event)];
        Assert.Equal(devices.Length, events.Count(e => e == "Created"));
        Assert.Equal(devices.Length, events.Count(e => e == "Destroyed"));
        Assert.Equal(6, events.Count(e => e == "TapReleased"));
        Assert.Contains(rig.Log.Entries, e => e.Event == "TapStarted" && (uint)e.Values["DomainId"]! == 12 && (int)e.Values["DeviceId"]! == 51712);
    }

    [Theory]
    [InlineData(StoreTarget.Embedded)]
    [InlineData(StoreTarget.EmbeddedSocket)]
    public async Task The_embedded_server_holds_the_same_nodes_values_and_permissions_as_the_C_xenstored_after_every_step(StoreTarget target)
    {
        // The same lifecycle, one step at a time, on the C xenstored (the referee) and on our server: after each step the
        // C CLI lists both trees with permissions, and they must be equal line for line.
        IReadOnlyList<(string Step, IReadOnlyList<string> Tree)>[] runs = await Task.WhenAll(
            RunStepsAsync(StoreTarget.CXenstored), RunStepsAsync(target));
        Assert.Equal(runs[0].Select(s => s.Step), runs[1].Select(s => s.Step));
        for (int i = 0; i < runs[0].Count; i++)
        {
            Assert.True(
                runs[0][i].Tree.SequenceEqual(runs[1][i].Tree),
                $"after \"{runs[0][i].Step}\" the trees differ.\nC xenstored:\n{string.Join('\n', runs[0][i].Tree)}\n{target}:\n{string.Join('\n', runs[1][i].Tree)}");
        }

        // The comparison is about something: the frontend is the guest's and readable by dom0, the backend the other way round.
        Assert.Equal("created", runs[0][1].Step);
        Assert.Contains("/local/domain/11/device/vbd/51712/state = \"1\"   (n11,r0)", runs[0][1].Tree);
        Assert.Contains("/local/domain/0/backend/vbd/11/51712/state = \"2\"   (n0,r11)", runs[0][1].Tree);
        Assert.Contains("/local/domain/0/backend/vbd/11/51712/state = \"4\"   (n0,r11)", runs[0][2].Tree);
    }

    private static async Task<IReadOnlyList<(string Step, IReadOnlyList<string> Tree)>> RunStepsAsync(StoreTarget target)
    {
        await using Rig rig = await Rig.StartAsync(target, HostKind.Simulated);
        var steps = new List<(string, IReadOnlyList<string>)>();
        async Task SnapshotAsync(string step) => steps.Add((step, await rig.Xenstore.ListTreeAsync("/local/domain/11", "/local/domain/12", "/local/domain/0/backend", "/vm")));

        BlktapDomain eleven = Domain(11);
        BlktapDomain twelve = Domain(12);
        await rig.Xenstore.WriteAsync("/local/domain/11/vm", eleven.VmPath);
        await rig.Xenstore.WriteAsync("/local/domain/12/vm", twelve.VmPath);
        await SnapshotAsync("domains");

        // One at a time, so that minors and creation order are the same on both stores.
        BlktapDevice a = await rig.Manager.CreateAsync(eleven, DiskEntry.Parse("tap:aio:/img/11-a.img", "xvda"));
        await rig.Manager.CreateAsync(eleven, DiskEntry.Parse("phy:/dev/vg/11-c", "hda"));
        BlktapDevice b = await rig.Manager.CreateAsync(twelve, DiskEntry.Parse("tap:vhd:/img/12-b.vhd", "xvdb"));
        await rig.Manager.CreateAsync(twelve, DiskEntry.Parse("tap:sync:/img/12-d.img", "sda"));
        await SnapshotAsync("created");

        await ConnectFrontendAsync(rig, a);
        await SnapshotAsync("connected");

        Assert.All(await rig.Manager.PauseDomainAsync(eleven), r => Assert.True(r.Succeeded, r.Error?.ToString()));
        await SnapshotAsync("paused");
        Assert.All(await rig.Manager.UnpauseDomainAsync(eleven), r => Assert.True(r.Succeeded, r.Error?.ToString()));
        await SnapshotAsync("unpaused");

        await rig.Manager.DestroyAsync(b.Domain, b.DeviceId);
        await SnapshotAsync("destroyed");

        Assert.All(await rig.Manager.TeardownDomainAsync(eleven), r => Assert.True(r.Succeeded, r.Error?.ToString()));
        Assert.All(await rig.Manager.TeardownDomainAsync(twelve), r => Assert.True(r.Succeeded, r.Error?.ToString()));
        await SnapshotAsync("torn down");
        await rig.AssertNothingLeftAsync();
        return steps;
    }

    [Theory]
    [InlineData(StoreTarget.CXenstored, HostKind.Sysfs)]
    [InlineData(StoreTarget.CXenstored, HostKind.TapCtl)]
    [InlineData(StoreTarget.Embedded, HostKind.Sysfs)]
    [InlineData(StoreTarget.Embedded, HostKind.TapCtl)]
    public async Task A_backend_that_never_reaches_InitWait_fails_the_create_naming_its_state_and_releases_the_tap_device(StoreTarget target, HostKind kind)
    {
        await using Rig rig = await Rig.StartAsync(target, kind, blkback: false, timeout: TimeSpan.FromMilliseconds(500));
        var e = await Assert.ThrowsAsync<BlktapOperationException>(() =>
            rig.Manager.CreateAsync(Domain(20), DiskEntry.Parse($"tap:aio:{rig.Tree.Image("a.img")}", "xvda")));
        Assert.Equal(BlktapStep.WaitForInitWait, e.Step);
        Assert.Contains("last seen in state Initialising (1)", e.Message, StringComparison.Ordinal);
        Assert.Null(e.UndoError);
        await rig.AssertNothingLeftAsync();
        Assert.Equal([0], rig.Released());
    }

    [Theory]
    [InlineData(StoreTarget.CXenstored)]
    [InlineData(StoreTarget.Embedded)]
    public async Task A_missing_tapdisk2_fails_the_create_at_StartTap_writing_nothing(StoreTarget target)
    {
        await using Rig rig = await Rig.StartAsync(target, HostKind.Sysfs, tapdisk2: "/nonexistent/tapdisk2");
        var e = await Assert.ThrowsAsync<BlktapOperationException>(() =>
            rig.Manager.CreateAsync(Domain(21), DiskEntry.Parse($"tap:vhd:{rig.Tree.Image("a.vhd")}", "xvda")));
        Assert.Equal(BlktapStep.StartTap, e.Step);
        Assert.Contains("tapdisk2 was not found at /nonexistent/tapdisk2", e.Message, StringComparison.Ordinal);
        await rig.AssertNothingLeftAsync();
    }

    [Theory]
    [InlineData(StoreTarget.CXenstored)]
    [InlineData(StoreTarget.Embedded)]
    public async Task A_tap_ctl_that_fails_is_reported_and_a_later_teardown_finishes_the_job(StoreTarget target)
    {
        await using Rig rig = await Rig.StartAsync(target, HostKind.TapCtl);
        BlktapDomain domain = Domain(22);
        rig.Tree.Break("create");
        var e = await Assert.ThrowsAsync<BlktapOperationException>(() =>
            rig.Manager.CreateAsync(domain, DiskEntry.Parse($"tap:aio:{rig.Tree.Image("a.img")}", "xvda")));
        Assert.Equal(BlktapStep.StartTap, e.Step);
        Assert.Equal(5, Assert.IsType<TapBackendException>(e.InnerException).ExitCode);
        rig.Tree.Heal("create");

        await rig.Manager.CreateAsync(domain, DiskEntry.Parse($"tap:aio:{rig.Tree.Image("a.img")}", "xvda"));
        await rig.Manager.CreateAsync(domain, DiskEntry.Parse($"tap:vhd:{rig.Tree.Image("b.vhd")}", "xvdb"));

        rig.Tree.Break("pause");
        IReadOnlyList<DeviceOperationResult> paused = await rig.Manager.PauseDomainAsync(domain);
        Assert.Equal(2, paused.Count);
        Assert.All(paused, r => Assert.False(r.Succeeded));
        rig.Tree.Heal("pause");

        rig.Tree.Break("destroy");
        IReadOnlyList<DeviceOperationResult> failed = await rig.Manager.TeardownDomainAsync(domain);
        Assert.All(failed, r => Assert.Equal(BlktapStep.ReleaseTap, Assert.IsType<BlktapOperationException>(r.Error).Step));
        Assert.Equal(2, (await rig.Host.ListAsync()).Count);
        rig.Tree.Heal("destroy");

        IReadOnlyList<DeviceOperationResult> finished = await rig.Manager.TeardownDomainAsync(domain);
        Assert.Equal(2, finished.Count);
        Assert.All(finished, r => Assert.True(r.Succeeded, r.Error?.ToString()));
        await rig.AssertNothingLeftAsync();
        Assert.Equal([0, 1], rig.Released().Order());
    }
}
