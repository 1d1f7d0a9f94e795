namespace Xen.Rings.Vchan;

/// <summary>The values of <c>cli_live</c> / <c>srv_live</c> in <c>struct vchan_interface</c>.</summary>
public enum VchanLiveState : byte
{
    /// <summary>0: that end has closed, or died (its unmap or unshare notification cleared the byte).</summary>
    Exited = 0,

    /// <summary>1: that end is connected.</summary>
    Connected = 1,

    /// <summary>2: the client has not connected yet (the server's initial <c>cli_live</c>).</summary>
    NotYetConnected = 2,
}
