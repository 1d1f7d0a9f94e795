using FsCheck;
using FsCheck.Fluent;
using Xen.Blktap.Backend;
using Xen.Blktap.DeviceStore;
using Xen.Blktap.Host;
using Xen.Blktap.Lifecycle;
using Xen.Blktap.Model;
using Xen.Blktap.Tests.Support;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Xenbus;
using Xen.TestSupport.Peers;

namespace Xen.Blktap.Tests.Lifecycle;

/// <summary>
/// Random sequences of lifecycle operations across domains, each with one failure injected at a random store
/// operation or tap backend call, checked against a model after every operation; at the end a clean teardown must
/// leave no node and no tap device, with every tap device released exactly once.
/// </summary>
public class LifecycleProperties
{
    private static readonly string[] Specs = ["tap:aio:/img/{0}-0", "tap:vhd:/img/{0}-1", "phy:/dev/vg/{0}-2", "tap:sync:/img/{0}-3"];
    private static readonly string[] Vdevs = ["xvda", "xvdb", "hda", "sda"];
    private static readonly DeviceClass[] Classes = [DeviceClass.Tap2, DeviceClass.Tap2, DeviceClass.Vbd, DeviceClass.Tap];

    public enum Kind
    {
        Create,
        Destroy,
        Pause,
        Unpause,
        Teardown,
    }

    public sealed record Fault(int StoreOperation, TapOperation? HostOperation)
    {
        public static readonly Fault None = new(0, null);

        public override string ToString() =>
            StoreOperation > 0 ? $"store op #{StoreOperation} fails" : HostOperation is { } h ? $"host {h} fails" : "no fault";
    }

    public sealed record Op(Kind Kind, uint Domain, int Disk, Fault Fault)
    {
        public override string ToString() => Kind switch
        {
            Kind.Create or Kind.Destroy => $"{Kind} dom{Domain} {Vdevs[Disk]} ({Fault})",
            _ => $"{Kind} dom{Domain} ({Fault})",
        };
    }

    private enum Presence
    {
        Absent,
        Present,
        Unknown,
    }

    private static readonly Gen<Fault> Faults = Gen.Frequency(
        (2, Gen.Constant(Fault.None)),
        (5, Gen.Choose(1, 30).Select(k => new Fault(k, null))),
        (2, Gen.Elements(TapOperation.Create, TapOperation.Release, TapOperation.Pause, TapOperation.Unpause).Select(h => new Fault(0, h))));

    private static readonly Gen<Op> Ops =
        from kind in Gen.Frequency(
            (5, Gen.Constant(Kind.Create)),
            (3, Gen.Constant(Kind.Destroy)),
            (1, Gen.Constant(Kind.Pause)),
            (1, Gen.Constant(Kind.Unpause)),
            (1, Gen.Constant(Kind.Teardown)))
        from domain in Gen.Choose(1, 3)
        from disk in Gen.Choose(0, 3)
        from fault in Faults
        select new Op(kind, (uint)domain, disk, fault);

    [Fact]
    public void Random_operation_sequences_with_injected_failures_match_the_model_and_leave_nothing_behind()
    {
        Prop.ForAll(Ops.ListOf().Where(l => l.Count is > 0 and < 25).ToArbitrary(), ops =>
        {
            using var raw = new InMemoryDeviceStore();
            RunAsync(ops, raw, () => Task.FromResult(raw.Snapshot())).GetAwaiter().GetResult();
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(80));
    }

    [Fact]
    [Trait("Category", "Interop")]
    public async Task The_same_sequences_hold_against_the_real_C_xenstored()
    {
        // One daemon for every sequence: each ends with a clean teardown, which the property checks left nothing.
        await using XenstoredPeer peer = await XenstoredPeer.StartAsync(XenstoredKind.C);
        await using XenStoreClient client = await XenStoreClient.ConnectAsync(peer.SocketPath);
        CheckAgainstXenStore(client, maxTest: 40);
    }

    [Fact]
    public async Task The_same_sequences_hold_against_the_embedded_xenstored()
    {
        // In process, so no Interop category: the server's own transactions, watches and removals under the lifecycle.
        await using XenStoreServer server = await XenStoreServer.StartAsync();
        await using XenStoreClient client = XenStoreClient.Create(server.ConnectInProcess());
        CheckAgainstXenStore(client, maxTest: 30, afterEach: () => Assert.True(server.CheckConsistency(), "the server's tree is inconsistent"));
    }

    private static void CheckAgainstXenStore(XenStoreClient client, int maxTest, Action? afterEach = null)
    {
        var raw = new XenStoreDeviceStore(client);
        Prop.ForAll(Ops.ListOf().Where(l => l.Count is > 0 and < 15).ToArbitrary(), ops =>
        {
            RunAsync(ops, raw, async () => (IReadOnlyList<string>)await StoreWalk.AllAsync(raw, "/local", "/vm")).GetAwaiter().GetResult();
            afterEach?.Invoke();
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(maxTest));
    }

    private static async Task RunAsync(IReadOnlyList<Op> ops, IDeviceStore raw, Func<Task<IReadOnlyList<string>>> snapshot)
    {
        var store = new FaultyDeviceStore(raw);
        var simulated = new SimulatedTapBackend();
        var host = new CountingTapBackend(simulated);
        await using SimulatedBlkback blkback = await SimulatedBlkback.StartAsync(raw);
        var manager = new BlktapDeviceManager(store, host, new BlktapManagerOptions { DeviceTimeout = TimeSpan.FromSeconds(20) });

        // Checks read through a manager on the store without faults.
        var checker = new BlktapDeviceManager(raw, simulated);
        var model = new Dictionary<(uint, int), Presence>();
        Presence Get(uint d, int i) => model.GetValueOrDefault((d, i), Presence.Absent);

        foreach (Op op in ops)
        {
            BlktapDomain domain = new(op.Domain, $"vm-{op.Domain}");
            store.Reset(op.Fault.StoreOperation);
            int hostFired = 0;
            TapOperation? failing = op.Fault.HostOperation;
            simulated.InjectFailure = failing is null ? null
                : (o, _) => o == failing && Interlocked.Exchange(ref hostFired, 1) == 0 ? new TapBackendException(o, $"injected {o} failure") : null;
            try
            {
                await ApplyAsync(op, domain, manager, checker, snapshot, simulated, model, Get);
            }
            finally
            {
                simulated.InjectFailure = null;
                store.Reset(0);
            }

            Assert.Empty(host.Violations);
        }

        // A clean teardown of every domain finishes whatever failures left half done.
        foreach (uint d in new uint[] { 1, 2, 3 })
        {
            IReadOnlyList<DeviceOperationResult> results = await manager.TeardownDomainAsync(new BlktapDomain(d, $"vm-{d}"));
            Assert.All(results, r => Assert.True(r.Succeeded, r.Error?.ToString()));
        }

        Assert.Empty(Leftovers.DeviceNodes(await snapshot()));
        Assert.Empty(await simulated.ListAsync());
        Assert.Equal(host.Created, host.Released);
        Assert.Empty(host.Violations);
        Assert.Equal(0, blkback.FaultCount);
    }

    private static async Task ApplyAsync(
        Op op, BlktapDomain domain, BlktapDeviceManager manager, BlktapDeviceManager checker, Func<Task<IReadOnlyList<string>>> snapshot, SimulatedTapBackend simulated,
        Dictionary<(uint, int), Presence> model, Func<uint, int, Presence> get)
    {
        switch (op.Kind)
        {
            case Kind.Create:
            {
                Presence before = get(op.Domain, op.Disk);
                int devicesBefore = (await simulated.ListAsync()).Count;
                DiskEntry disk = DiskEntry.Parse(string.Format(System.Globalization.CultureInfo.InvariantCulture, Specs[op.Disk], op.Domain), Vdevs[op.Disk]);
                try
                {
                    BlktapDevice device = await manager.CreateAsync(domain, disk);
                    Assert.NotEqual(Presence.Present, before);
                    Assert.Equal(Classes[op.Disk], device.DeviceClass);
                    Assert.Equal("connected", (await checker.GetStatusAsync(domain, device.DeviceId))?.HotplugStatus);
                    model[(op.Domain, op.Disk)] = Presence.Present;
                }
                catch (BlktapOperationException e)
                {
                    Assert.Null(e.UndoError);
                    if (before == Presence.Absent)
                    {
                        // A failed create undoes itself completely.
                        Assert.DoesNotContain(Leftovers.DeviceNodes(await snapshot()), p => IsOf(p, op.Domain, disk.DeviceNumber));
                        Assert.Equal(devicesBefore, (await simulated.ListAsync()).Count);
                    }
                    else
                    {
                        if (op.Fault == Fault.None)
                        {
                            Assert.Equal(BlktapStep.WriteNodes, e.Step);
                        }

                        if (before == Presence.Present)
                        {
                            // The device that was there is untouched.
                            DeviceStatus? status = await checker.GetStatusAsync(domain, disk.DeviceNumber);
                            Assert.Equal(XenbusState.InitWait, status?.BackendState);
                        }
                    }
                }

                break;
            }

            case Kind.Destroy:
            {
                Presence before = get(op.Domain, op.Disk);
                int deviceId = VirtualDevice.ToNumber(Vdevs[op.Disk]);
                try
                {
                    await manager.DestroyAsync(domain, deviceId);
                    Assert.NotEqual(Presence.Absent, before);
                    model[(op.Domain, op.Disk)] = Presence.Absent;
                    Assert.Null(await checker.GetStatusAsync(domain, deviceId));
                }
                catch (BlktapOperationException e)
                {
                    if (before == Presence.Absent)
                    {
                        Assert.Equal(BlktapStep.Lookup, e.Step);
                    }
                    else
                    {
                        model[(op.Domain, op.Disk)] = Presence.Unknown;
                    }
                }

                break;
            }

            case Kind.Pause or Kind.Unpause:
            {
                IReadOnlyList<DeviceOperationResult> results;
                try
                {
                    results = op.Kind == Kind.Pause ? await manager.PauseDomainAsync(domain) : await manager.UnpauseDomainAsync(domain);
                }
                catch (Xen.Store.XenStoreException)
                {
                    break;
                }

                foreach (DeviceOperationResult r in results)
                {
                    int disk = Array.IndexOf(Vdevs, VirtualDevice.ToName(r.DeviceId));
                    Assert.NotEqual(Presence.Absent, get(op.Domain, disk));
                    if (r.Succeeded)
                    {
                        DeviceStatus? status = await checker.GetStatusAsync(domain, r.DeviceId);
                        Assert.True(TapDevice.TryParseMinor(status?.TapDevicePath, out int minor));
                        Assert.Equal(op.Kind == Kind.Pause, simulated.IsPaused(minor));
                    }
                }

                // Every present tap2 device was tried.
                for (int disk = 0; disk < Vdevs.Length; disk++)
                {
                    if (get(op.Domain, disk) == Presence.Present && Classes[disk] == DeviceClass.Tap2 && op.Fault.StoreOperation == 0)
                    {
                        Assert.Contains(results, r => r.DeviceId == VirtualDevice.ToNumber(Vdevs[disk]));
                    }
                }

                break;
            }

            case Kind.Teardown:
            {
                IReadOnlyList<DeviceOperationResult> results;
                try
                {
                    results = await manager.TeardownDomainAsync(domain);
                }
                catch (Xen.Store.XenStoreException)
                {
                    for (int disk = 0; disk < Vdevs.Length; disk++)
                    {
                        if (get(op.Domain, disk) != Presence.Absent)
                        {
                            model[(op.Domain, disk)] = Presence.Unknown;
                        }
                    }

                    break;
                }

                for (int disk = 0; disk < Vdevs.Length; disk++)
                {
                    int deviceId = VirtualDevice.ToNumber(Vdevs[disk]);
                    DeviceOperationResult? r = results.SingleOrDefault(x => x.DeviceId == deviceId);
                    if (get(op.Domain, disk) == Presence.Present)
                    {
                        Assert.NotNull(r);
                    }

                    if (r is not null)
                    {
                        Assert.NotEqual(Presence.Absent, get(op.Domain, disk));
                        Assert.Equal(Classes[disk], r.DeviceClass);
                        model[(op.Domain, disk)] = r.Succeeded ? Presence.Absent : Presence.Unknown;
                    }
                }

                break;
            }
        }
    }

    private static bool IsOf(string path, uint domain, int deviceId)
    {
        string[] parts = path.Split('/');
        string d = domain.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string id = deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return path.StartsWith($"/vm/vm-{d}/", StringComparison.Ordinal) ? parts.Length > 5 && parts[5] == id
            : path.StartsWith($"/local/domain/{d}/device/vbd/", StringComparison.Ordinal) ? parts[6] == id
            : parts.Length > 7 && parts[4] == "backend" && parts[6] == d && parts[7] == id;
    }
}
