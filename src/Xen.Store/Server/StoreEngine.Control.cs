using System.Globalization;
using System.Text;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>The daemon's own settings: CONTROL (xenstore-control's commands), GET_FEATURE/SET_FEATURE and GET_QUOTA/SET_QUOTA.</summary>
internal sealed partial class StoreEngine
{
    // C xenstored 4.17's commands in its order; live-update only where the server can replace its process
    // (LiveUpdateStarted is set).
    private const string ControlHelp =
        "check\t\nlog\ton|off\nlogfile\t<file>\nmemreport\t[<file>]\nprint\t<string>\nquota\t[set <name> <val>|<domid>]\nquota-soft\t[set <name> <val>]\nhelp\t\n";

    private const string LiveUpdateHelp = "live-update\t[-c <cmdline>] [-F] [-t <timeout>] <file>\n    Default timeout is 60 seconds.\n";

    private XsError? DoControl(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, 16);
        if (args.Length == 0)
        {
            return XsError.EINVAL;
        }

        if (args[0] == "live-update" && LiveUpdateStarted is not null)
        {
            return DoLiveUpdate(in r, args[1..]);
        }

        if (args is ["quota", string domain] && domain != "set" && TryDomainId(domain, out uint quotaDomain) && !IsKnown(quotaDomain))
        {
            return XsError.ENOENT; // no such domain, as C's domain_get_quota answers
        }

        string? text = args[0] switch
        {
            "check" => CheckTree() ? "OK" : null,
            "help" => LiveUpdateStarted is null ? ControlHelp : ControlHelp.Insert(ControlHelp.IndexOf("logfile", StringComparison.Ordinal), LiveUpdateHelp),
            "print" => args.Length >= 2 ? "OK" : null,
            "log" => args.Length == 2 && args[1] is "on" or "off" ? ControlLog(args[1] == "on") : null,
            "logfile" => args.Length == 2 && args[1].Length > 0 ? ControlLogFile(args[1]) : null,
            // C answers EBADF when it has nowhere to write, which xs_wire.h cannot carry: the client reads EINVAL.
            "memreport" when args.Length <= 2 => Trace.Report(MemoryReport(), args.Length == 2 ? args[1] : null) ? "OK" : null,
            "quota" => ControlQuota(args),
            "quota-soft" => ControlSoftQuota(args),
            _ => null,
        };
        if (text is null)
        {
            return XsError.EINVAL;
        }

        Reply(in r, XsText.Latin1.GetBytes(text + "\0"));
        return null;
    }

    /// <summary><c>log on|off</c>: reopen the trace file (if one was ever named) or stop writing it; OK either way, as C.</summary>
    private string ControlLog(bool on)
    {
        if (!on)
        {
            Trace.Close();
            return "OK";
        }

        try
        {
            Trace.Reopen();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // C prints "Could not open tracefile" and answers OK, the trace off
        }

        return "OK";
    }

    /// <summary><c>logfile FILE</c>: trace to FILE from now on (C: close, rename, reopen; OK even if it cannot be opened).</summary>
    private string ControlLogFile(string path)
    {
        try
        {
            Trace.SwitchTo(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return "OK";
    }

    /// <summary>
    /// <c>memreport</c>'s text: this server's own numbers (C's is talloc's block tree, which this server has no
    /// counterpart of): the managed heap, and what the store holds.
    /// </summary>
    private string MemoryReport()
    {
        (int watches, int transactions, _) = CountConnections(_ => true);
        return string.Create(CultureInfo.InvariantCulture,
            $"xenstored memory report: managed heap {GC.GetTotalMemory(forceFullCollection: false)} bytes, " +
            $"{_tree.Nodes.Count()} nodes, {_connections.Count} connections, {_domains.Count} domains, {watches} watches, {transactions} transactions\n");
    }

    private string? ControlQuota(string[] args)
    {
        var sb = new StringBuilder();
        if (args.Length == 1)
        {
            return QuotaListing(XenStoreQuotas.ControlNames, name => name);
        }

        if (args[1] == "set")
        {
            return ControlQuotaSet(args, args.Length == 4 && XenStoreQuotas.ControlNames.Contains(args[2]) ? args[2] : null);
        }

        if (args.Length != 2 || !TryDomainId(args[1], out uint domid) || !IsKnown(domid))
        {
            return null;
        }

        (int watches, int transactions, int outstanding) = CountConnections(c => c.DomainId == domid);
        sb.Append(CultureInfo.InvariantCulture, $"Domain {domid}:\n");
        sb.Append(CultureInfo.InvariantCulture, $"{"nodes",-16}: {_tree.OwnedBy(domid),8}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{"watches",-16}: {watches,8}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{"transactions",-16}: {transactions,8}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{"outstanding",-16}: {outstanding,8}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{"memory",-16}: {MemoryOf(domid),8}\n");
        return sb.ToString();
    }

    /// <summary><c>quota-soft [set memory VALUE]</c>: C xenstored 4.17's one soft quota, memory (<see cref="XenStoreQuotas.SoftMemory"/>).</summary>
    private string? ControlSoftQuota(string[] args) => args switch
    {
        [_] => QuotaListing(["memory"], _ => "soft-memory"),
        [_, "set", "memory", _] => ControlQuotaSet(args, "soft-memory"),
        _ => null,
    };

    /// <summary>C's <c>Quota settings:</c> listing of the quotas named, each read under the name <paramref name="stored"/> gives it.</summary>
    private string QuotaListing(IReadOnlyList<string> names, Func<string, string> stored)
    {
        var sb = new StringBuilder("Quota settings:\n");
        foreach (string name in names)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{name,-17}: {_quotas.Get(stored(name)),8} {QuotaDescription(stored(name))}\n");
        }

        return sb.ToString();
    }

    /// <summary>
    /// <c>set NAME VALUE</c> of <c>quota</c> or <c>quota-soft</c> into the quota <paramref name="stored"/> (null: not one
    /// of that command's): at least 1, as C's control command (SET_QUOTA's 0, "no check", is a request of its own).
    /// </summary>
    private string? ControlQuotaSet(string[] args, string? stored)
    {
        if (stored is null || args.Length != 4 || !int.TryParse(args[3], NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1 ||
            _quotas.With(stored, value) is not { } updated)
        {
            return null;
        }

        _quotas = updated;
        _quotasChanged = true;
        return "OK";
    }

    /// <summary>The watches, transactions and queued messages of the connections <paramref name="which"/> selects.</summary>
    private (int Watches, int Transactions, int Queued) CountConnections(Func<ServerConnection, bool> which)
    {
        int watches = 0;
        int transactions = 0;
        int queued = 0;
        foreach (ServerConnection c in _connections)
        {
            if (which(c))
            {
                watches += c.State.Watches.Count;
                transactions += c.State.Transactions.Count;
                queued += c.QueuedCount;
            }
        }

        return (watches, transactions, queued);
    }

    /// <summary>C xenstored's description of each quota in <c>quota</c>'s listing.</summary>
    private static string QuotaDescription(string name) => name switch
    {
        "nodes" => "Nodes per domain",
        "watches" => "Watches per domain",
        "transactions" => "Transactions per domain",
        "outstanding" => "Outstanding requests per domain",
        "transaction-nodes" => "Max. number of accessed nodes per transaction",
        "node-size" => "Max. size of a node",
        "path-max" => "Max. length of a node path",
        "permissions" or "node-permissions" => "Max. number of permissions per node",
        "memory" => "Total Xenstore memory per domain (error level)",
        "soft-memory" => "Total Xenstore memory per domain (warning level)",
        _ => string.Empty,
    };

    /// <summary>The <c>check</c> command: every child named by a node exists, every node is named by its parent, and the ownership counts and bytes add up.</summary>
    private bool CheckTree()
    {
        var owned = new Dictionary<uint, int>();
        var memory = new Dictionary<uint, long>();
        foreach (KeyValuePair<string, StoreNode> kv in _tree.Nodes)
        {
            owned[kv.Value.Owner] = owned.GetValueOrDefault(kv.Value.Owner) + 1;
            memory[kv.Value.Owner] = memory.GetValueOrDefault(kv.Value.Owner) + StoreQuota.NodeMemory(kv.Key, kv.Value);
            foreach (string child in kv.Value.Children)
            {
                if (_tree.Get(Child(kv.Key, child)) is null)
                {
                    return false;
                }
            }

            if (XsPath.Parent(kv.Key) is { } parent &&
                (_tree.Get(parent) is not { } p || !p.Children.Contains(kv.Key[(kv.Key.LastIndexOf('/') + 1)..])))
            {
                return false;
            }
        }

        return owned.Count == _tree.OwnedCounts.Count && owned.All(kv => _tree.OwnedBy(kv.Key) == kv.Value) &&
            memory.Count == _tree.Memory.Count && memory.All(kv => _tree.MemoryOf(kv.Key) == kv.Value);
    }

    /// <summary>The outstanding-reply quota of a domain (read by its ring loop before each pass).</summary>
    public int OutstandingQuota(uint domainId)
    {
        lock (_gate)
        {
            return (_domains.TryGetValue(domainId, out DomainRecord? d) ? d.Quotas : null)?.Outstanding ?? _quotas.Outstanding;
        }
    }

    /// <summary>Checks the tree's consistency (the CONTROL <c>check</c> command), for tests and hosts.</summary>
    public bool Check()
    {
        lock (_gate)
        {
            return CheckTree();
        }
    }

    /// <summary>
    /// GET_FEATURE as Xen 4.22's C xenstored answers it: no argument, the caller's own domain's features (a socket
    /// connection: the server's), which any domain may ask; a domid, dom0 only, that domain's (ENOENT for no domain).
    /// </summary>
    private XsError? DoGetFeature(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, 2);
        uint value;
        if (args.Length == 0)
        {
            value = r.Connection.State.Domain?.Features ?? ServerFeatures;
        }
        else if (!r.Connection.IsPrivileged)
        {
            return XsError.EACCES;
        }
        else if (args.Length > 1 || !TryParseDomid(args[0], out uint domid))
        {
            return XsError.EINVAL;
        }
        else if (!DomainMayExist(domid))
        {
            return XsError.ENOENT;
        }
        else
        {
            value = Domain(domid).Features;
        }

        Reply(in r, XsText.Latin1.GetBytes(value.ToString(CultureInfo.InvariantCulture) + "\0"));
        return null;
    }

    /// <summary>
    /// SET_FEATURE as Xen 4.22's C xenstored: <c>domid|value|</c> (value read with <c>atoi</c>) for a domain that exists
    /// and is not introduced yet (EBUSY once it is: the guest may already rely on what it read), with only bits the
    /// server has (EINVAL otherwise).
    /// </summary>
    private XsError? DoSetFeature(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, 3);
        if (args.Length != 2 || !TryParseDomid(args[0], out uint domid))
        {
            return XsError.EINVAL;
        }

        uint features = AtoiDomainId(args[1]);
        if (!DomainMayExist(domid))
        {
            return XsError.ENOENT;
        }

        DomainRecord d = Domain(domid);
        if (d.Introduced)
        {
            return XsError.EBUSY;
        }

        if ((features & ~ServerFeatures) != 0)
        {
            return XsError.EINVAL;
        }

        d.Features = features;
        DomainChanged(domid);
        Reply(in r, OkPayload);
        return null;
    }

    private XsError? DoGetQuota(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, 3);
        if (args.Length == 0)
        {
            Reply(in r, XsText.Latin1.GetBytes(string.Join(' ', XenStoreQuotas.Names) + "\0"));
            return null;
        }

        XenStoreQuotas quotas = _quotas;
        string name = args[^1];
        if (args.Length == 2)
        {
            if (!TryDomainId(args[0], out uint domid))
            {
                return XsError.EINVAL;
            }

            if (!IsKnown(domid))
            {
                return XsError.ENOENT;
            }

            quotas = Domain(domid).Quotas ?? _quotas;
        }
        else if (args.Length != 1)
        {
            return XsError.EINVAL;
        }

        if (quotas.Get(name) is not int value)
        {
            return XsError.EINVAL;
        }

        Reply(in r, XsText.Latin1.GetBytes(value.ToString(CultureInfo.InvariantCulture) + "\0"));
        return null;
    }

    private XsError? DoSetQuota(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, 4);
        if (args.Length is < 2 or > 3 || !int.TryParse(args[^1], NumberStyles.None, CultureInfo.InvariantCulture, out int value))
        {
            return XsError.EINVAL;
        }

        string name = args[^2];
        if (args.Length == 3)
        {
            if (!TryDomainId(args[0], out uint domid))
            {
                return XsError.EINVAL;
            }

            if (!IsKnown(domid))
            {
                return XsError.ENOENT;
            }

            DomainRecord d = Domain(domid);
            if ((d.Quotas ?? _quotas).With(name, value) is not { } updated)
            {
                return XsError.EINVAL;
            }

            d.Quotas = updated;
            DomainChanged(domid);
        }
        else
        {
            if (_quotas.With(name, value) is not { } updated)
            {
                return XsError.EINVAL;
            }

            _quotas = updated;
            _quotasChanged = true;
        }

        Reply(in r, OkPayload);
        return null;
    }
}
