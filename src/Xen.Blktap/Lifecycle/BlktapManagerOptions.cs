namespace Xen.Blktap.Lifecycle;

/// <summary>Settings of <see cref="BlktapDeviceManager"/>.</summary>
public sealed class BlktapManagerOptions
{
    /// <summary>How long to wait for a backend to reach a state (InitWait and hotplug-status, Closed, removal). Default 100 s, as xend waited.</summary>
    public TimeSpan DeviceTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// Whether to give the frontend directory to the guest and the backend directory to the backend domain, each
    /// readable by the other (default true). Turn off where the store refuses permissions naming unknown domains.
    /// </summary>
    public bool SetPermissions { get; init; } = true;

    /// <summary>How many times each part of undoing a failed create is tried before giving up (default 3).</summary>
    public int UndoAttempts { get; init; } = 3;
}
