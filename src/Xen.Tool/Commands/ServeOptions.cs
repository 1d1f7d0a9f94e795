using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Xen.Store.Server;

namespace Xen.Tool.Commands;

/// <summary>
/// The options of <c>xen store serve</c>: C xenstored 4.17's (same letters, same long names, same <c>what=value</c>
/// forms) and this server's own (<c>--socket</c>, <c>--peer-dir</c>, <c>--state-dir</c>, <c>--durability</c>, <c>--simulated-blkback</c>,
/// <c>--receive-spin</c>). C options this server has no counterpart for are accepted with a warning naming them.
/// </summary>
internal sealed class ServeOptions
{
    /// <summary>C xenstored's default run directory, where its socket lives unless <c>XENSTORED_RUNDIR</c> says otherwise.</summary>
    public const string DefaultRunDirectory = "/var/run/xenstored";

    /// <summary><c>XENSTORE_REL_PATH_MAX</c>: the most <c>-M</c> can raise the path limit to, as in C xenstored.</summary>
    private const int RelativePathMax = 2048;

    public Option<string?> Socket { get; } = new("--socket", "-s") { Description = "The Unix socket to listen on (default $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket). Given explicitly, the server also runs on a machine without Xen, serving the socket only." };

    public Option<string?> PeerDirectory { get; } = new("--peer-dir") { Description = "Serve guests over the page files and datagram event channels of this directory (the LD_PRELOAD stand-in hypervisor's convention: xs-ring-D, port-D-P, domD.evtchn, dead-D, virq-3) instead of Xen's libraries." };

    public Option<string?> StateDirectory { get; } = new("--state-dir") { Description = "Keep the store in this directory (created if missing): every change is journalled before its reply leaves, so the server can be killed at any instant and restarted on the same directory with nothing acknowledged lost. Without it the store is in memory only." };

    public Option<XenStoreDurability> Durability { get; } = new("--durability") { Description = "With --state-dir, how far a change must reach before its reply leaves: write (the default: write(2) done, which survives the server's crash but not the host's) or fsync (on the disk; requests during one flush share the next).", DefaultValueFactory = _ => XenStoreDurability.Write };

    public Option<long?> CompactAfter { get; } = new("--compact-after") { Description = "With --state-dir, the bytes the journal may grow past the last snapshot (and past the snapshot's own size) before the state is written as a new snapshot (default 16777216)." };

    public Option<bool> SimulatedBlkback { get; } = new("--simulated-blkback") { Description = "Also play dom0's block backend and its hotplug script: every device under /local/domain/0/backend/{vbd,tap} is taken through the xenbus states, so xen blktap create/destroy complete without Xen. No I/O is served." };

    public Option<double?> ReceiveSpin { get; } = new("--receive-spin") { Description = "Microseconds a socket connection checks for the next request before sleeping after answering one (default 50; 0 never spins), only while no other connection is busy." };

    public Option<int?> SocketThreads { get; } = new("--socket-threads") { Description = "The most threads serving Unix-socket connections, however many there are (default twice the processors plus 2): a busy connection keeps one, a quiet one none." };

    public Option<bool> NoDomainInit { get; } = new("--no-domain-init", "-D") { Description = "Do not connect to the hypervisor: no dom0 kernel connection and no guests (sockets only)." };

    public Option<string?> PidFile { get; } = new("--pid-file", "-F") { Description = "Write the daemon's pid to this file, and hold it locked: a second daemon with the same file exits at once." };

    public Option<bool> NoFork { get; } = new("--no-fork", "-N") { Description = "Stay in the foreground (without it the server runs on as a detached daemon once ready)." };

    public Option<bool> OutputPid { get; } = new("--output-pid", "-P") { Description = "Print the daemon's pid on stdout once initialised." };

    public Option<string?> TraceFile { get; } = new("--trace-file", "-T") { Description = "Log every request and reply to this file, as C xenstored's trace (reopened on SIGHUP)." };

    public Option<int?> EntryNb { get; } = new("--entry-nb", "-E") { Description = "Limit the number of entries per domain (quota nodes)." };

    public Option<int?> EntrySize { get; } = new("--entry-size", "-S") { Description = "Limit the size of an entry (quota node-size)." };

    public Option<int?> WatchNb { get; } = new("--watch-nb", "-W") { Description = "Limit the number of watches per domain." };

    public Option<int?> Transaction { get; } = new("--transaction", "-t") { Description = "Limit the number of transactions per domain." };

    public Option<int?> PermNb { get; } = new("--perm-nb", "-A") { Description = "Limit the number of permissions per node." };

    public Option<int?> PathMax { get; } = new("--path-max", "-M") { Description = "Limit the length of a node's path (at most 2048)." };

    public Option<string[]> Quota { get; } = new("--quota", "-Q") { Description = "Set quota WHAT=NB: outstanding, transaction-nodes, memory.", AllowMultipleArgumentsPerToken = false };

    public Option<string[]> QuotaSoft { get; } = new("--quota-soft", "-q") { Description = "Set soft quota WHAT=NB (memory): a warning only." };

    public Option<string[]> Timeout { get; } = new("--timeout", "-w") { Description = "Set timeout WHAT=SECONDS: watch-event, how long a guest's unread watch event waits before it is dropped (default 20; 0 never)." };

    public Option<bool> NoRecovery { get; } = new("--no-recovery", "-R") { Description = "C xenstored's tdb recovery switch; this server keeps no tdb (accepted, no effect)." };

    public Option<string?> InternalDb { get; } = new("--internal-db", "-I") { Description = "Keep the database in memory (this server always does; 'off' is refused with a warning).", Arity = ArgumentArity.ZeroOrOne };

    public Option<bool> KeepOrphans { get; } = new("--keep-orphans", "-K") { Description = "C xenstored keeps a dead domain's nodes; not supported here (a warning): they are removed." };

    public Option<bool> Verbose { get; } = new("--verbose", "-V") { Description = "Verbose execution: log every connection and domain on standard error, not only the warnings." };

    public Option<bool> LiveUpdate { get; } = new("--live-update", "-U") { Description = "Start as the new daemon of a live update (xenstore-control live-update runs the new binary so): carry on from the state the old one left in the run directory's state_dump, on the descriptors it left open." };

    public ServeOptions()
    {
        SocketThreads.Validators.Add(result =>
        {
            if (result.GetValue(SocketThreads) is < 1)
            {
                result.AddError("--socket-threads must be at least 1.");
            }
        });

        ReceiveSpin.Validators.Add(result =>
        {
            if (result.GetValue(ReceiveSpin) is double us && (us < 0 || us > XenStoreServerOptions.MaxReceiveSpin.TotalMicroseconds))
            {
                result.AddError($"--receive-spin must be between 0 and {XenStoreServerOptions.MaxReceiveSpin.TotalMicroseconds} microseconds.");
            }
        });
    }

    public IEnumerable<Option> All =>
    [
        Socket, PeerDirectory, StateDirectory, Durability, CompactAfter, SimulatedBlkback, ReceiveSpin, SocketThreads, NoDomainInit, PidFile, NoFork, OutputPid, TraceFile,
        EntryNb, EntrySize, WatchNb, Transaction, PermNb, PathMax, Quota, QuotaSoft, Timeout, NoRecovery, InternalDb,
        KeepOrphans, Verbose, LiveUpdate,
    ];

    /// <summary>Where the server listens: <c>--socket</c>, else libxenstore's <c>xs_daemon_socket()</c> (as C xenstored).</summary>
    public string SocketPath(ParseResult parse) =>
        parse.GetValue(Socket)
        ?? NonEmpty(Environment.GetEnvironmentVariable("XENSTORED_PATH"))
        ?? Path.Combine(NonEmpty(Environment.GetEnvironmentVariable("XENSTORED_RUNDIR")) ?? DefaultRunDirectory, "socket");

    /// <summary>
    /// How the daemon replaces itself on <c>xenstore-control live-update</c>: <c>state_dump</c> in
    /// <c>$XENSTORED_RUNDIR</c>, else in the socket's directory (C's run directory, where its socket lives by default),
    /// and this command line again for the new binary.
    /// </summary>
    public Xen.Store.Server.LiveUpdate.LiveUpdateSettings LiveUpdateSettings(ParseResult parse, string socketPath) =>
        new(NonEmpty(Environment.GetEnvironmentVariable("XENSTORED_RUNDIR")) ?? Path.GetDirectoryName(socketPath) ?? DefaultRunDirectory,
            Environment.GetCommandLineArgs()[1..])
        {
            Resume = parse.GetValue(LiveUpdate),
            Log = line => Console.Error.WriteLine($"xen store serve: {line}"),
        };

    /// <summary>
    /// The server's settings from the quota, state and spin options; a C option with no counterpart here is reported on
    /// <paramref name="warnings"/>.
    /// </summary>
    /// <exception cref="FormatException">A <c>what=value</c> option names something C xenstored does not know, or has no number.</exception>
    public XenStoreServerOptions ServerOptions(ParseResult parse, TextWriter warnings)
    {
        XenStoreQuotas q = new();
        q = parse.GetValue(EntryNb) is int nodes ? q with { Nodes = nodes } : q;
        q = parse.GetValue(EntrySize) is int size ? q with { NodeSize = size } : q;
        q = parse.GetValue(WatchNb) is int watches ? q with { Watches = watches } : q;
        q = parse.GetValue(Transaction) is int transactions ? q with { Transactions = transactions } : q;
        q = parse.GetValue(PermNb) is int perms ? q with { Permissions = perms } : q;
        q = parse.GetValue(PathMax) is int path ? q with { PathLength = Math.Min(RelativePathMax, path) } : q;
        foreach (string arg in parse.GetValue(Quota) ?? [])
        {
            (string what, int value) = WhatEquals(arg, "quotas must be specified via <what>=<nb>");
            q = what switch
            {
                "outstanding" => q with { Outstanding = value },
                "transaction-nodes" => q with { TransactionNodes = value },
                "memory" => q with { Memory = value },
                _ => throw new FormatException($"unknown quota \"{arg}\""),
            };
        }

        foreach (string arg in parse.GetValue(QuotaSoft) ?? [])
        {
            (string what, int value) = WhatEquals(arg, "quotas must be specified via <what>=<nb>");
            q = what == "memory" ? q with { SoftMemory = value } : throw new FormatException($"unknown quota \"{arg}\"");
        }

        TimeSpan? watchEventTimeout = null;
        foreach (string arg in parse.GetValue(Timeout) ?? [])
        {
            (string what, int seconds) = WhatEquals(arg, "quotas must be specified via <what>=<seconds>");
            watchEventTimeout = what == "watch-event" ? TimeSpan.FromSeconds(seconds) : throw new FormatException($"unknown timeout \"{arg}\"");
        }

        if (parse.GetValue(InternalDb) is "off")
        {
            warnings.WriteLine("xen store serve: -I off: the database stays in memory (this server has no tdb file)");
        }

        if (parse.GetValue(KeepOrphans))
        {
            warnings.WriteLine("xen store serve: -K is not supported: a dead domain's nodes are removed");
        }

        var options = new XenStoreServerOptions
        {
            Quotas = q,
            StateDirectory = parse.GetValue(StateDirectory) is { } state ? Path.GetFullPath(state) : null,
            Durability = parse.GetValue(Durability),
            TraceFile = parse.GetValue(TraceFile) is { } trace ? Path.GetFullPath(trace) : null,
            Logger = new StandardErrorLogger("xen store serve", parse.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Warning),
        };
        options = watchEventTimeout is { } timeout ? options with { WatchEventTimeout = timeout } : options;
        options = parse.GetValue(CompactAfter) is long compact ? options with { CompactAfterBytes = compact } : options;
        options = parse.GetValue(SocketThreads) is int threads ? options with { MaxSocketThreads = threads } : options;
        return parse.GetValue(ReceiveSpin) is double us ? options with { ReceiveSpin = TimeSpan.FromMicroseconds(us) } : options;
    }

    /// <summary>C xenstored's <c>what=value</c> (value a non-negative int, as <c>get_optval_int</c> wants it).</summary>
    private static (string What, int Value) WhatEquals(string arg, string missing)
    {
        int eq = arg.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0)
        {
            throw new FormatException(missing);
        }

        if (!int.TryParse(arg.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int value))
        {
            throw new FormatException($"invalid parameter value \"{arg[(eq + 1)..]}\"");
        }

        return (arg[..eq], value);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
