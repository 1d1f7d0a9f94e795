using System.Globalization;
using Xen.Blktap.Model;
using Xen.Blktap.DeviceStore;
using Xen.Store.Wire;
using Xen.Store.Xenbus;

namespace Xen.Blktap.Lifecycle;

// The xenstore nodes of a device: written in one transaction on create, removed with their emptied parents on destroy.
public sealed partial class BlktapDeviceManager
{
    private async ValueTask WriteNodesAsync(BlktapDevice device, CancellationToken cancellationToken)
    {
        BlktapDomain domain = device.Domain;
        DiskEntry disk = device.Disk;
        string domid = domain.DomainId.ToString(CultureInfo.InvariantCulture);
        string backdom = domain.BackendDomainId.ToString(CultureInfo.InvariantCulture);
        string backend = device.BackendPath;
        string frontend = device.FrontendPath;
        string record = device.VmDevicePath;
        var backendNodes = new List<(string, string)>
        {
            ("frontend", frontend),
            ("frontend-id", domid),
            ("online", "1"),
            ("state", XenbusStateText.Format(XenbusState.Initialising)),
            ("params", device.DeviceClass switch
            {
                DeviceClass.Tap2 => device.TapDevice!.DevicePath,
                DeviceClass.Tap => disk.Spec.TapArguments,
                _ => disk.Spec.Path,
            }),
            ("type", device.DeviceClass switch
            {
                DeviceClass.Tap2 => "phy",
                DeviceClass.Tap => "tap",
                _ => disk.Spec.Kind == DiskKind.File ? "file" : "phy",
            }),
            ("mode", disk.Mode),
            ("dev", disk.VirtualDevice),
            ("removable", "0"),
            ("bootable", disk.Bootable == true ? "1" : "0"),
        };
        if (device.DeviceClass == DeviceClass.Tap2)
        {
            backendNodes.Add((TapdiskParamsNode, disk.Spec.ToString()));
        }

        var frontendNodes = new List<(string, string)>
        {
            ("backend", backend),
            ("backend-id", backdom),
            ("state", XenbusStateText.Format(XenbusState.Initialising)),
            ("virtual-device", disk.DeviceNumber.ToString(CultureInfo.InvariantCulture)),
            ("device-type", "disk"),
        };
        var recordNodes = new List<(string, string)>
        {
            ("frontend", frontend),
            ("frontend-id", domid),
            ("backend", backend),
            ("backend-id", backdom),
            ("uname", disk.Spec.ToString()),
        };
        if (device.TapDevice is not null)
        {
            recordNodes.Add((TapDeviceRecordNode, device.TapDevice.DevicePath));
        }

        await _store.RunTransactionAsync<bool>(
            async (tx, token) =>
            {
                // A record left by a destroy that failed half way still owns its tap device: refuse until it is finished.
                if (await tx.ReadAsync(backend, token).ConfigureAwait(false) is not null
                    || await tx.ReadAsync(frontend, token).ConfigureAwait(false) is not null
                    || await tx.ReadAsync(record, token).ConfigureAwait(false) is not null)
                {
                    throw new BlktapException($"Domain {domain.DomainId} already has a device {disk.DeviceNumber} ({backend}, {frontend} or {record} exists).");
                }

                await WriteDirectoryAsync(tx, frontend, frontendNodes, [new XsPermission(XsAccess.None, (ushort)domain.DomainId), new XsPermission(XsAccess.Read, (ushort)domain.BackendDomainId)], token).ConfigureAwait(false);
                await WriteDirectoryAsync(tx, backend, backendNodes, [new XsPermission(XsAccess.None, (ushort)domain.BackendDomainId), new XsPermission(XsAccess.Read, (ushort)domain.DomainId)], token).ConfigureAwait(false);
                await WriteDirectoryAsync(tx, record, recordNodes, null, token).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask WriteDirectoryAsync(IDeviceStoreOperations tx, string directory, List<(string Name, string Value)> nodes, XsPermission[]? permissions, CancellationToken cancellationToken)
    {
        await tx.WriteAsync(directory, string.Empty, cancellationToken).ConfigureAwait(false);
        if (permissions is not null && _options.SetPermissions)
        {
            await tx.SetPermissionsAsync(directory, permissions, cancellationToken).ConfigureAwait(false);
        }

        foreach ((string name, string value) in nodes)
        {
            await tx.WriteAsync($"{directory}/{name}", value, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async ValueTask RemoveDeviceDirectoryAsync(IDeviceStoreOperations tx, string directory, CancellationToken cancellationToken)
    {
        await tx.RemoveAsync(directory, cancellationToken).ConfigureAwait(false);

        // The per-domain directory above a backend (backend/vbd/<domid>) or a class directory goes when it empties.
        string? parent = XsPath.Parent(directory);
        if (parent is not null && parent.Count(static c => c == '/') > 3
            && await tx.ReadAsync(parent, cancellationToken).ConfigureAwait(false) is not null
            && (await tx.ListAsync(parent, cancellationToken).ConfigureAwait(false)).Count == 0)
        {
            await tx.RemoveAsync(parent, cancellationToken).ConfigureAwait(false);
        }
    }
}
