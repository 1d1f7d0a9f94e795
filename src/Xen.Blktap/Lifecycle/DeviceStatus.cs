using Xen.Blktap.Model;
using Xen.Store.Xenbus;

namespace Xen.Blktap.Lifecycle;

/// <summary>A device's state as xenstore shows it now.</summary>
/// <param name="DeviceId">The device id.</param>
/// <param name="DeviceClass">The class its record is under.</param>
/// <param name="BackendPath">The backend directory.</param>
/// <param name="BackendState">The backend's xenbus state, or null when the backend has no state node.</param>
/// <param name="FrontendState">The frontend's xenbus state, or null.</param>
/// <param name="Online">The backend's <c>online</c> flag.</param>
/// <param name="HotplugStatus">The backend's <c>hotplug-status</c>, or null.</param>
/// <param name="TapDevicePath">The tap device serving it (tap2), or null.</param>
public sealed record DeviceStatus(
    int DeviceId,
    DeviceClass DeviceClass,
    string BackendPath,
    XenbusState? BackendState,
    XenbusState? FrontendState,
    bool Online,
    string? HotplugStatus,
    string? TapDevicePath);
