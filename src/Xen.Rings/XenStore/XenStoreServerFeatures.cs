namespace Xen.Rings.XenStore;

/// <summary>The <c>server_features</c> bits of the xenstore page (<c>XENSTORE_SERVER_FEATURE_*</c>).</summary>
[Flags]
public enum XenStoreServerFeatures : uint
{
    /// <summary>No optional features.</summary>
    None = 0,

    /// <summary><c>XENSTORE_SERVER_FEATURE_RECONNECTION</c>: the server honours <c>connection = XENSTORE_RECONNECT</c>.</summary>
    Reconnection = 1,

    /// <summary><c>XENSTORE_SERVER_FEATURE_ERROR</c>: the server reports ring errors in <c>error</c>.</summary>
    Error = 2,

    /// <summary><c>XENSTORE_SERVER_FEATURE_WATCHDEPTH</c>: WATCH takes a depth argument.</summary>
    WatchDepth = 4,

    /// <summary><c>XENSTORE_SERVER_FEATURE_DOMID_ANY</c>: permissions may name DOMID_ANY.</summary>
    DomidAny = 8,
}
