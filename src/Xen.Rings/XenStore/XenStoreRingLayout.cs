namespace Xen.Rings.XenStore;

/// <summary>
/// The layout of <c>struct xenstore_domain_interface</c> (<c>xen/io/xs_wire.h</c>), the page a guest and
/// xenstored share.
/// </summary>
/// <remarks>
/// <code>
/// offset  size  field
///      0  1024  req[]            guest -> server
///   1024  1024  rsp[]            server -> guest (replies and watch events)
///   2048     4  req_cons         written by the server
///   2052     4  req_prod         written by the guest
///   2056     4  rsp_cons         written by the guest
///   2060     4  rsp_prod         written by the server
///   2064     4  server_features  written by the server (XENSTORE_SERVER_FEATURE_*)
///   2068     4  connection       XENSTORE_CONNECTED 0 / XENSTORE_RECONNECT 1
///   2072     4  error            XENSTORE_ERROR_* (written by the server)
///   2076     4  evtchn_port      Xen 4.21+: the event channel, used when non-zero
/// </code>
/// </remarks>
public static class XenStoreRingLayout
{
    /// <summary>The size of the page the interface lives in.</summary>
    public const int PageSize = 4096;

    /// <summary><c>XENSTORE_RING_SIZE</c>: the size of each of <c>req[]</c> and <c>rsp[]</c>.</summary>
    public const int RingSize = 1024;

    /// <summary>Offset of <c>req[]</c>.</summary>
    public const int RequestOffset = 0;

    /// <summary>Offset of <c>rsp[]</c>.</summary>
    public const int ResponseOffset = 1024;

    /// <summary>Offset of <c>req_cons</c>.</summary>
    public const int ReqConsOffset = 2048;

    /// <summary>Offset of <c>req_prod</c>.</summary>
    public const int ReqProdOffset = 2052;

    /// <summary>Offset of <c>rsp_cons</c>.</summary>
    public const int RspConsOffset = 2056;

    /// <summary>Offset of <c>rsp_prod</c>.</summary>
    public const int RspProdOffset = 2060;

    /// <summary>Offset of <c>server_features</c>.</summary>
    public const int ServerFeaturesOffset = 2064;

    /// <summary>Offset of <c>connection</c>.</summary>
    public const int ConnectionOffset = 2068;

    /// <summary>Offset of <c>error</c>.</summary>
    public const int ErrorOffset = 2072;

    /// <summary>Offset of <c>evtchn_port</c> (Xen 4.21+).</summary>
    public const int EvtchnPortOffset = 2076;

    /// <summary>The bytes of the structure including <c>evtchn_port</c>.</summary>
    public const int InterfaceSize = 2080;

    internal static void CheckPage(int length, string paramName)
    {
        if (length < InterfaceSize)
        {
            ThrowHelper.ThrowArgument(
                $"A xenstore page needs at least {InterfaceSize} bytes (normally {PageSize}); this one has {length}.", paramName);
        }
    }
}
