namespace Xen.Blktap.Backend;

/// <summary>How a <see cref="SimulatedBlkback"/> behaves.</summary>
public sealed class SimulatedBlkbackOptions
{
    /// <summary>The domain whose backends it serves (default 0).</summary>
    public uint BackendDomainId { get; init; }

    /// <summary>Whether new devices are taken to InitWait (default true); false leaves them Initialising, like a backend that never answers.</summary>
    public bool ReachInitWait { get; init; } = true;

    /// <summary>The <c>hotplug-status</c> written for a new device (default <c>connected</c>; <c>error</c> plays a failing hotplug script).</summary>
    public string HotplugStatus { get; init; } = "connected";

    /// <summary>The <c>hotplug-error</c> written with a status other than <c>connected</c>.</summary>
    public string HotplugError { get; init; } = "simulated hotplug failure";
}
