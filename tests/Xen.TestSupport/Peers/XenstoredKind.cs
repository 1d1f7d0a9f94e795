namespace Xen.TestSupport.Peers;

/// <summary>Which xenstore daemon <see cref="XenstoredPeer"/> starts.</summary>
public enum XenstoredKind
{
    /// <summary>The C xenstored (<c>/usr/lib/xen-4.17/bin/xenstored</c>).</summary>
    C,

    /// <summary>The OCaml xenstored (<c>/usr/lib/xen-4.17/bin/oxenstored</c>).</summary>
    OCaml,

    /// <summary>
    /// No daemon: the test hosts the xenstore itself (e.g. the embedded server) on the peer's socket, see
    /// <see cref="XenstoredPeer.HostExternallyAsync"/>.
    /// </summary>
    External,

    /// <summary>
    /// This project's xenstored as the host's daemon: <c>xen store serve</c> (the <c>xen</c> tool built beside the
    /// tests) started by <c>run_xenstored.sh ours</c> exactly as C xenstored is, under the shim, finding dom0's page
    /// and its guests through Xen's libraries as the real daemons do.
    /// </summary>
    Embedded,
}
