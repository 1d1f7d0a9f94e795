namespace Xen.Rings.Vchan;

/// <summary>The bits of <c>cli_notify</c> / <c>srv_notify</c>: what one end asks the other to send an event for.</summary>
[Flags]
public enum VchanNotify : byte
{
    /// <summary>No request.</summary>
    None = 0,

    /// <summary><c>VCHAN_NOTIFY_WRITE</c> (1): wake me when you write (I am waiting for data).</summary>
    Write = 1,

    /// <summary><c>VCHAN_NOTIFY_READ</c> (2): wake me when you read (I am waiting for space).</summary>
    Read = 2,
}
