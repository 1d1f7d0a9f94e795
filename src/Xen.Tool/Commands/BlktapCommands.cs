using System.CommandLine;
using System.Globalization;
using Xen.Blktap.Host;
using Xen.Blktap.Lifecycle;
using Xen.Blktap.Model;

namespace Xen.Tool.Commands;

/// <summary>
/// <c>xen blktap create|list|pause|unpause|destroy</c>: the blktap2 device lifecycle of <c>Xen.Blktap</c>
/// (<see cref="BlktapDeviceManager"/>) from the command line, against the xenstored that <c>xen store</c> finds and a
/// host backend chosen by option (tap-ctl or the blktap2 sysfs with tapdisk2).
/// </summary>
/// <remarks>
/// Output on standard output is one line per device, fields separated by spaces, so scripts can cut it; every
/// failure is one line on standard error, <c>xen blktap &lt;command&gt;: &lt;message&gt;</c>, naming the lifecycle
/// step that failed, and the exit status is 1 (also when only some devices of a domain failed).
/// </remarks>
internal static class BlktapCommands
{
    private static readonly string[] ListHeader = ["domain", "vdev", "device", "class", "backend", "frontend", "hotplug", "tap", "tap-state"];

    public static Command Create()
    {
        var options = new BlktapOptions();
        var blktap = new Command("blktap", "Create, list, pause, resume and destroy a domain's blktap2 (tap2) disks: the tap device on the host (tap-ctl, or tapdisk2 and the blktap2 sysfs) and the backend, frontend and /vm nodes in xenstore, following the xenbus handshake. Something must play blkback (a real dom0, or `xen store serve --simulated-blkback`).");
        options.AddTo(blktap);
        blktap.Subcommands.Add(CreateCommand(options));
        blktap.Subcommands.Add(ListCommand(options));
        blktap.Subcommands.Add(PauseCommand(options, pause: true));
        blktap.Subcommands.Add(PauseCommand(options, pause: false));
        blktap.Subcommands.Add(DestroyCommand(options));
        return blktap;
    }

    private static Argument<uint> DomainArgument(string description) => new("domid") { Description = description };

    private static Command CreateCommand(BlktapOptions options)
    {
        Argument<uint> domid = DomainArgument("The guest's domain id.");
        var disk = new Argument<string>("disk")
        {
            Description = "The disk as a toolstack's configuration writes it: <spec>,<vdev>[,<mode>], e.g. tap2:aio:/images/root.img,xvda,w (spec phy:, file:, tap:<driver>: or tap2:<driver>:, driver aio, ram, qcow or vhd; mode r or w, default w).",
        };
        var command = new Command("create", "Attach a disk to a domain: start its tap device, write its xenstore nodes, wait for the backend (InitWait, hotplug-status connected). Prints <vdev> <device id> <class> <tap device or -> <backend path>. On failure everything done is undone.");
        command.Arguments.Add(domid);
        command.Arguments.Add(disk);
        command.SetAction((parseResult, cancellationToken) =>
        {
            if (!DiskEntry.TryParse(parseResult.GetValue(disk), out DiskEntry? entry, out string? problem))
            {
                BlktapSession.Error.WriteLine($"xen blktap create: {problem}");
                return Task.FromResult(1);
            }

            return BlktapSession.RunAsync(parseResult, options, "create", session => CreateAsync(session, parseResult.GetValue(domid), entry, cancellationToken), cancellationToken);
        });
        return command;
    }

    private static async Task<int> CreateAsync(BlktapSession session, uint domainId, DiskEntry entry, CancellationToken cancellationToken)
    {
        BlktapDomain domain = await session.ResolveDomainAsync(domainId, forCreate: true, cancellationToken).ConfigureAwait(false);
        BlktapDevice device = await session.Manager.CreateAsync(domain, entry, cancellationToken).ConfigureAwait(false);
        await session.Output.WriteLineAsync(string.Join(' ',
            entry.VirtualDevice,
            device.DeviceId.ToString(CultureInfo.InvariantCulture),
            device.DeviceClass.Name(),
            device.TapDevice?.DevicePath ?? "-",
            device.BackendPath)).ConfigureAwait(false);
        return 0;
    }

    private static Command ListCommand(BlktapOptions options)
    {
        var domid = new Argument<uint?>("domid") { Arity = ArgumentArity.ZeroOrOne, Description = "The guest's domain id; without it, every domain with a device record under /vm." };
        var command = new Command("list", "List a domain's (or every domain's) block devices with their state: "
            + "domain, vdev, device id, class, backend state, frontend state, hotplug-status, tap device, tap state (running or paused, from tap-ctl list; - when not known).");
        command.Arguments.Add(domid);
        command.SetAction((parseResult, cancellationToken) => BlktapSession.RunAsync(parseResult, options, "list", async session =>
        {
            IReadOnlyList<BlktapDomain> domains = parseResult.GetValue(domid) is uint id
                ? [await session.ResolveDomainAsync(id, forCreate: false, cancellationToken).ConfigureAwait(false)]
                : await session.AllDomainsAsync(cancellationToken).ConfigureAwait(false);
            IReadOnlyDictionary<int, bool>? paused = await session.TapPauseStatesAsync(cancellationToken).ConfigureAwait(false);
            var rows = new List<string[]> { ListHeader };
            foreach (BlktapDomain domain in domains)
            {
                foreach (DeviceClass cls in DeviceClasses.All)
                {
                    foreach (int deviceId in await session.Manager.ListDevicesAsync(domain, cls, cancellationToken).ConfigureAwait(false))
                    {
                        DeviceStatus? status = await session.Manager.GetStatusAsync(domain, deviceId, cancellationToken).ConfigureAwait(false);
                        if (status is not null)
                        {
                            rows.Add(Row(domain, status, paused));
                        }
                    }
                }
            }

            await session.Output.WriteAsync(BlktapSession.Columns(rows)).ConfigureAwait(false);
            return 0;
        }, cancellationToken));
        return command;
    }

    private static string[] Row(BlktapDomain domain, DeviceStatus status, IReadOnlyDictionary<int, bool>? paused)
    {
        string tapState = "-";
        if (status.TapDevicePath is not null && paused is not null && TapDevice.TryParseMinor(status.TapDevicePath, out int minor))
        {
            tapState = paused.TryGetValue(minor, out bool isPaused) ? (isPaused ? "paused" : "running") : "gone";
        }

        return
        [
            domain.DomainId.ToString(CultureInfo.InvariantCulture),
            VirtualDevice.ToName(status.DeviceId) ?? "?",
            status.DeviceId.ToString(CultureInfo.InvariantCulture),
            status.DeviceClass.Name(),
            status.BackendState?.ToString() ?? "-",
            status.FrontendState?.ToString() ?? "-",
            status.HotplugStatus ?? "-",
            status.TapDevicePath ?? "-",
            tapState,
        ];
    }

    private static Command PauseCommand(BlktapOptions options, bool pause)
    {
        string name = pause ? "pause" : "unpause";
        Argument<uint> domid = DomainArgument("The guest's domain id.");
        var command = new Command(name, pause
            ? "Pause every tap2 device of a domain (tap-ctl pause, or the sysfs pause file). Prints <domain> <vdev> <device id> paused per device; a device that fails is named on standard error, the others go on, and the status is 1."
            : "Resume every tap2 device of a domain. Prints <domain> <vdev> <device id> resumed per device; a device that fails is named on standard error, the others go on, and the status is 1.");
        command.Arguments.Add(domid);
        command.SetAction((parseResult, cancellationToken) => BlktapSession.RunAsync(parseResult, options, name, async session =>
        {
            BlktapDomain domain = await session.ResolveDomainAsync(parseResult.GetValue(domid), forCreate: false, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<DeviceOperationResult> results = pause
                ? await session.Manager.PauseDomainAsync(domain, cancellationToken).ConfigureAwait(false)
                : await session.Manager.UnpauseDomainAsync(domain, cancellationToken).ConfigureAwait(false);
            return await session.ReportAsync(results, pause ? "paused" : "resumed").ConfigureAwait(false);
        }, cancellationToken));
        return command;
    }

    private static Command DestroyCommand(BlktapOptions options)
    {
        Argument<uint> domid = DomainArgument("The guest's domain id.");
        var device = new Argument<string?>("device")
        {
            Arity = ArgumentArity.ZeroOrOne,
            Description = "The device: its virtual device name (xvda) or number (51712). Without it, every block device of the domain (vbd, tap and tap2) is torn down.",
        };
        var command = new Command("destroy", "Detach and destroy one device of a domain (backend closed, nodes removed, tap device released, /vm record removed), or tear down all of them. Prints <domain> <vdev> <device id> destroyed per device; failures are named on standard error with the step, and the status is 1. A destroy that failed half way can be run again.");
        command.Arguments.Add(domid);
        command.Arguments.Add(device);
        command.SetAction((parseResult, cancellationToken) => BlktapSession.RunAsync(parseResult, options, "destroy", async session =>
        {
            BlktapDomain domain = await session.ResolveDomainAsync(parseResult.GetValue(domid), forCreate: false, cancellationToken).ConfigureAwait(false);
            if (parseResult.GetValue(device) is not string name)
            {
                IReadOnlyList<DeviceOperationResult> results = await session.Manager.TeardownDomainAsync(domain, cancellationToken).ConfigureAwait(false);
                return await session.ReportAsync(results, "destroyed").ConfigureAwait(false);
            }

            if (!TryDeviceId(name, out int deviceId, out string? problem))
            {
                session.Fail(problem);
                return 1;
            }

            await session.Manager.DestroyAsync(domain, deviceId, cancellationToken: cancellationToken).ConfigureAwait(false);
            return await session.ReportAsync([new DeviceOperationResult(domain.DomainId, deviceId, DeviceClass.Vbd, null)], "destroyed").ConfigureAwait(false);
        }, cancellationToken));
        return command;
    }

    /// <summary>A device given as a number (<c>51712</c>) or a virtual device name (<c>xvda</c>).</summary>
    private static bool TryDeviceId(string text, out int deviceId, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out deviceId))
        {
            problem = null;
            return true;
        }

        return VirtualDevice.TryToNumber(text, out deviceId, out problem);
    }
}
