namespace Xen.Blktap.Lifecycle;

/// <summary>The steps of the device lifecycle, as a failure reports them.</summary>
public enum BlktapStep
{
    /// <summary>Checking the disk and choosing its device class.</summary>
    ChooseClass,

    /// <summary>Starting the tapdisk and its tap device (tap2 only).</summary>
    StartTap,

    /// <summary>Writing the backend, frontend and vm nodes in one transaction.</summary>
    WriteNodes,

    /// <summary>Waiting for the backend to reach InitWait.</summary>
    WaitForInitWait,

    /// <summary>Waiting for the hotplug script's <c>hotplug-status</c>.</summary>
    WaitForHotplug,

    /// <summary>Finding the device's class and records.</summary>
    Lookup,

    /// <summary>Setting the backend <c>online</c> to 0 and its state to Closing.</summary>
    Shutdown,

    /// <summary>Waiting for the backend to reach Closed.</summary>
    WaitForClosed,

    /// <summary>Removing the backend and frontend nodes.</summary>
    RemoveNodes,

    /// <summary>Waiting for the backend directory to be gone.</summary>
    WaitForBackendRemoval,

    /// <summary>Releasing the tap device (the sysfs <c>remove</c>, or <c>tap-ctl destroy</c>).</summary>
    ReleaseTap,

    /// <summary>Removing the toolstack's <c>/vm</c> record of the device.</summary>
    RemoveRecord,

    /// <summary>Pausing a tap device.</summary>
    Pause,

    /// <summary>Resuming a tap device.</summary>
    Unpause,
}
