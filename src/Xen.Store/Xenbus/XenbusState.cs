namespace Xen.Store.Xenbus;

/// <summary>The xenbus device states (<c>io/xenbus.h</c>), written as decimal strings to <c>&lt;device&gt;/state</c>.</summary>
public enum XenbusState
{
    /// <summary>0.</summary>
    Unknown = 0,

    /// <summary>1: the toolstack wrote the device; nobody has acted on it yet.</summary>
    Initialising = 1,

    /// <summary>2: the backend is ready for the frontend.</summary>
    InitWait = 2,

    /// <summary>3: the frontend has published its rings.</summary>
    Initialised = 3,

    /// <summary>4: both ends are connected.</summary>
    Connected = 4,

    /// <summary>5: the device is being shut down.</summary>
    Closing = 5,

    /// <summary>6: the device is shut down.</summary>
    Closed = 6,

    /// <summary>7.</summary>
    Reconfiguring = 7,

    /// <summary>8.</summary>
    Reconfigured = 8,
}
