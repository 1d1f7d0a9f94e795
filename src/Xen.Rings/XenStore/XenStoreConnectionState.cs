namespace Xen.Rings.XenStore;

/// <summary>The <c>connection</c> field of the xenstore page.</summary>
public enum XenStoreConnectionState : uint
{
    /// <summary><c>XENSTORE_CONNECTED</c>: the ring is in use.</summary>
    Connected = 0,

    /// <summary><c>XENSTORE_RECONNECT</c>: the guest asked the server to reset the connection.</summary>
    Reconnect = 1,
}
