using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Xen.Blktap.Model;

/// <summary>
/// A guest domain as the block device code sees it: its id, its <c>/vm/&lt;uuid&gt;</c> record and the domain that
/// runs its disk backends (dom0 unless a driver domain serves them). Every xenstore path of its devices comes
/// from here.
/// </summary>
public sealed record BlktapDomain
{
    /// <summary>Creates the description of a domain.</summary>
    /// <exception cref="ArgumentException"><paramref name="vmUuid"/> is empty or holds characters a xenstore path may not.</exception>
    public BlktapDomain(uint domainId, string vmUuid, uint backendDomainId = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(vmUuid);
        if (!IsUsableVmUuid(vmUuid))
        {
            throw new ArgumentException($"'{vmUuid}' is not a usable vm uuid (letters, digits, '-' and '_' only).", nameof(vmUuid));
        }

        DomainId = domainId;
        VmUuid = vmUuid;
        BackendDomainId = backendDomainId;
    }

    /// <summary>Whether <paramref name="text"/> can name a <c>/vm</c> record: not empty; letters, digits, '-' and '_' only.</summary>
    public static bool IsUsableVmUuid([NotNullWhen(true)] string? text) =>
        !string.IsNullOrEmpty(text) && text.All(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>The guest's domain id.</summary>
    public uint DomainId { get; }

    /// <summary>The vm uuid (the name of its <c>/vm</c> record).</summary>
    public string VmUuid { get; }

    /// <summary>The domain that runs the disk backends.</summary>
    public uint BackendDomainId { get; }

    /// <summary><c>/local/domain/&lt;domid&gt;</c>.</summary>
    public string DomainPath => string.Create(CultureInfo.InvariantCulture, $"/local/domain/{DomainId}");

    /// <summary><c>/vm/&lt;uuid&gt;</c>.</summary>
    public string VmPath => $"/vm/{VmUuid}";

    /// <summary><c>/vm/&lt;uuid&gt;/device/&lt;class&gt;</c>: where a class's device records are listed.</summary>
    public string VmDeviceClassPath(DeviceClass deviceClass) => $"{VmPath}/device/{deviceClass.Name()}";

    /// <summary><c>/vm/&lt;uuid&gt;/device/&lt;class&gt;/&lt;devid&gt;</c>: the toolstack's record of a device.</summary>
    public string VmDevicePath(DeviceClass deviceClass, int deviceId) =>
        string.Create(CultureInfo.InvariantCulture, $"{VmDeviceClassPath(deviceClass)}/{deviceId}");

    /// <summary>
    /// <c>/local/domain/&lt;backdom&gt;/backend/&lt;vbd|tap&gt;/&lt;domid&gt;/&lt;devid&gt;</c>; a tap2 device is served by a vbd backend.
    /// </summary>
    public string BackendPath(DeviceClass deviceClass, int deviceId) =>
        string.Create(CultureInfo.InvariantCulture, $"/local/domain/{BackendDomainId}/backend/{deviceClass.BackendClassName()}/{DomainId}/{deviceId}");

    /// <summary><c>/local/domain/&lt;domid&gt;/device/vbd/&lt;devid&gt;</c>: every block device's frontend is a vbd.</summary>
    public string FrontendPath(int deviceId) =>
        string.Create(CultureInfo.InvariantCulture, $"{DomainPath}/device/vbd/{deviceId}");
}
