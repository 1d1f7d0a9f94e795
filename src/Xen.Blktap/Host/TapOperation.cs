namespace Xen.Blktap.Host;

/// <summary>What a tap backend was asked to do (for errors and for failure injection in simulations).</summary>
public enum TapOperation
{
    /// <summary>Start a tapdisk and allocate its device.</summary>
    Create,

    /// <summary>Quiesce the device's I/O.</summary>
    Pause,

    /// <summary>Resume the device's I/O.</summary>
    Unpause,

    /// <summary>Stop the tapdisk and free its device.</summary>
    Release,

    /// <summary>List the devices.</summary>
    List,
}
