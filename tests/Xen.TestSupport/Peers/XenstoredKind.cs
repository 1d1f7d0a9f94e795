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
    /// This project's embedded xenstored as a daemon of its own: <c>xen store serve --socket PATH --peer-dir DIR</c>
    /// (the <c>xen</c> tool built beside the tests), serving ring guests through the shim's files and sockets in
    /// the state directory as the real daemons do.
    /// </summary>
    Embedded,
}
