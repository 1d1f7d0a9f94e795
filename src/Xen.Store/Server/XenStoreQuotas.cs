namespace Xen.Store.Server;

/// <summary>
/// Per-domain limits of the embedded xenstored, with C xenstored's defaults. They bind every connection but a
/// privileged one (dom0 and the Unix socket). Names are those of C xenstored's <c>quota</c> control command.
/// </summary>
public sealed record XenStoreQuotas
{
    /// <summary><c>nodes</c>: nodes a domain may own. Exceeding it answers ENOSPC. Default 1000.</summary>
    public int Nodes { get; init; } = 1000;

    /// <summary>
    /// <c>watches</c>: watches per connection. As in C xenstored, a WATCH is refused (with E2BIG, C xenstored's answer)
    /// once the connection already has more than this many, so 129 fit under the default of 128.
    /// </summary>
    public int Watches { get; init; } = 128;

    /// <summary>
    /// <c>transactions</c>: open transactions per connection. As in C xenstored, TRANSACTION_START answers ENOSPC once the
    /// connection already has more than this many open, so 11 fit under the default of 10.
    /// </summary>
    public int Transactions { get; init; } = 10;

    /// <summary>
    /// <c>outstanding</c>: replies a domain may have waiting unread before the server stops taking its requests
    /// (flow control, as C xenstored does, not an error). Default 20.
    /// </summary>
    public int Outstanding { get; init; } = 20;

    /// <summary><c>transaction-nodes</c>: nodes one transaction may touch. Exceeding it answers ENOSPC. Default 1024.</summary>
    public int TransactionNodes { get; init; } = 1024;

    /// <summary>
    /// <c>node-size</c>: the size of a node as C xenstored stores it (a 24-byte header, 8 bytes per permission, the value
    /// and the NUL-terminated child names); a write, a new child or a SET_PERMS that makes it this large or larger
    /// answers ENOSPC. Default 2048 (so a node with one permission and no children holds up to 2015 bytes).
    /// </summary>
    public int NodeSize { get; init; } = 2048;

    /// <summary>
    /// <c>path-max</c>: the length of a path below the domain's home (of the whole path elsewhere). Exceeding it answers
    /// EINVAL, as C xenstored does; this one binds dom0 too. Default 2048.
    /// </summary>
    public int PathLength { get; init; } = 2048;

    /// <summary><c>permissions</c> (Xen 4.22: <c>node-permissions</c>): entries in one permission list. Exceeding it answers ENOSPC. Default 5.</summary>
    public int Permissions { get; init; } = 5;

    /// <summary>
    /// <c>memory</c>: the bytes a domain holds in the store, as C xenstored counts them: each node it owns (its record as
    /// <see cref="NodeSize"/> measures it, plus its path) and each watch of its connections (path and token). A write,
    /// a new node or a SET_PERMS that would bring the owner to this many bytes or more answers EIO (C xenstored's
    /// answer: its node write fails so), a WATCH that would answers ENOMEM. Default 2621440 (2.5 MiB).
    /// </summary>
    public int Memory { get; init; } = 2621440;

    /// <summary>
    /// <c>soft-memory</c> (<c>xenstore-control quota-soft</c>'s <c>memory</c>): past this many bytes a domain is only
    /// reported (a warning in the log, once, and a line when it is below again). Default 2097152 (2 MiB).
    /// </summary>
    public int SoftMemory { get; init; } = 2097152;

    /// <summary>
    /// The names of GET_QUOTA and SET_QUOTA, in Xen 4.22's order (GET_QUOTA with no argument lists them so); the state
    /// directory and the live-update stream keep quotas under these names.
    /// </summary>
    public static IReadOnlyList<string> Names { get; } =
        ["nodes", "watches", "outstanding", "memory", "soft-memory", "transactions", "transaction-nodes", "node-permissions", "path-max", "node-size"];

    /// <summary><c>xenstore-control quota</c>'s names and order (C xenstored 4.17's hard quotas).</summary>
    internal static IReadOnlyList<string> ControlNames { get; } =
        ["nodes", "watches", "transactions", "outstanding", "transaction-nodes", "memory", "node-size", "path-max", "permissions"];

    /// <summary>
    /// The value of the quota called <paramref name="name"/> (one of <see cref="Names"/>, or <c>permissions</c>, C
    /// xenstored 4.17's name of <c>node-permissions</c>), or null when there is none.
    /// </summary>
    public int? Get(string name) => name switch
    {
        "nodes" => Nodes,
        "watches" => Watches,
        "transactions" => Transactions,
        "outstanding" => Outstanding,
        "transaction-nodes" => TransactionNodes,
        "node-size" => NodeSize,
        "path-max" => PathLength,
        "permissions" or "node-permissions" => Permissions,
        "memory" => Memory,
        "soft-memory" => SoftMemory,
        _ => null,
    };

    /// <summary>A copy with the quota called <paramref name="name"/> (as <see cref="Get"/> takes it) set, or null when there is no such quota.</summary>
    public XenStoreQuotas? With(string name, int value) => name switch
    {
        "nodes" => this with { Nodes = value },
        "watches" => this with { Watches = value },
        "transactions" => this with { Transactions = value },
        "outstanding" => this with { Outstanding = value },
        "transaction-nodes" => this with { TransactionNodes = value },
        "node-size" => this with { NodeSize = value },
        "path-max" => this with { PathLength = value },
        "permissions" or "node-permissions" => this with { Permissions = value },
        "memory" => this with { Memory = value },
        "soft-memory" => this with { SoftMemory = value },
        _ => null,
    };
}
