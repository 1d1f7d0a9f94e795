namespace Xen.Store.Server;

/// <summary>
/// When a change to the store counts as kept, with <see cref="XenStoreServerOptions.StateDirectory"/> set: the reply
/// to a request that changed the store (and every later message that could show the change) leaves only once the
/// change is in the journal this far.
/// </summary>
public enum XenStoreDurability
{
    /// <summary>
    /// Once <c>write(2)</c> has put the record in the kernel: it survives the server's crash or <c>kill -KILL</c>, not
    /// a crash of the host. The default, because a host that goes down takes every guest with it, and with them what
    /// their xenstore held: the state worth keeping is the state of a host that is still up.
    /// </summary>
    Write,

    /// <summary>
    /// Once <c>fsync(2)</c> has put the record on the disk: it survives a power cut too. Requests arriving while one
    /// <c>fsync</c> runs share the next one (group commit), so many clients pay for one flush.
    /// </summary>
    Fsync,
}
