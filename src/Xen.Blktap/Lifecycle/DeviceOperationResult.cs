using Xen.Blktap.Model;

namespace Xen.Blktap.Lifecycle;

/// <summary>What happened to one device in a domain-wide operation (pause, unpause, teardown).</summary>
/// <param name="DomainId">The guest domain.</param>
/// <param name="DeviceId">The device id.</param>
/// <param name="DeviceClass">The device class.</param>
/// <param name="Error">Why it failed, or null when it succeeded.</param>
public sealed record DeviceOperationResult(uint DomainId, int DeviceId, DeviceClass DeviceClass, Exception? Error)
{
    /// <summary>Whether the operation succeeded for this device.</summary>
    public bool Succeeded => Error is null;
}
