using System.Globalization;
using System.Text;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>The daemon's own settings: CONTROL (xenstore-control's commands), GET_FEATURE/SET_FEATURE and GET_QUOTA/SET_QUOTA.</summary>
internal sealed partial class StoreEngine
{
    private const string ControlHelp =
        "check\t\nhelp\t\nlog\ton|off\nprint\t<string>\nquota\t[set <name> <val>|<domid>]\n";

    private XsError? DoControl(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, 16);
        if (args.Length == 0)
        {
            return XsError.EINVAL;
        }

        string? text = args[0] switch
        {
            "check" => CheckTree() ? "OK" : null,
            "help" => ControlHelp,
            "print" => args.Length >= 2 ? "OK" : null,
            "log" => args.Length == 2 && args[1] is "on" or "off" ? "OK" : null,
            "quota" => ControlQuota(args),
            _ => null,
        };
        if (text is null)
        {
            return XsError.EINVAL;
        }

        Reply(in r, XsText.Latin1.GetBytes(text + "\0"));
        return null;
    }

    private string? ControlQuota(string[] args)
    {
        var sb = new StringBuilder();
        if (args.Length == 1)
        {
            sb.Append("Quota settings:\n");
            foreach (string name in XenStoreQuotas.Names)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{name,-17}: {_quotas.Get(name),8}\n");
            }

            return sb.ToString();
        }

        if (args[1] == "set")
        {
            if (args.Length != 4 || !int.TryParse(args[3], NumberStyles.None, CultureInfo.InvariantCulture, out int value) ||
                _quotas.With(args[2], value) is not { } updated)
            {
                return null;
            }

            _quotas = updated;
            return "OK";
        }

        if (args.Length != 2 || !TryDomainId(args[1], out uint domid) || !IsKnown(domid))
        {
            return null;
        }

        int watches = 0;
        int transactions = 0;
        int outstanding = 0;
        foreach (ServerConnection c in _connections)
        {
            if (c.DomainId == domid)
            {
                watches += c.State.Watches.Count;
                transactions += c.State.Transactions.Count;
                outstanding += c.QueuedCount;
            }
        }

        sb.Append(CultureInfo.InvariantCulture, $"Domain {domid}:\n");
        sb.Append(CultureInfo.InvariantCulture, $"{"nodes",-16}: {_tree.OwnedBy(domid),8}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{"watches",-16}: {watches,8}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{"transactions",-16}: {transactions,8}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{"outstanding",-16}: {outstanding,8}\n");
        return sb.ToString();
    }

    /// <summary>The <c>check</c> command: every child named by a node exists, every node is named by its parent, and the ownership counts add up.</summary>
    private bool CheckTree()
    {
        var owned = new Dictionary<uint, int>();
        foreach (KeyValuePair<string, StoreNode> kv in _tree.Nodes)
        {
            owned[kv.Value.Owner] = owned.GetValueOrDefault(kv.Value.Owner) + 1;
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

        return owned.Count == _tree.OwnedCounts.Count && owned.All(kv => _tree.OwnedBy(kv.Key) == kv.Value);
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

    private XsError? DoGetFeature(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, 2);
        uint value;
        if (args.Length == 0 || (args.Length == 1 && args[0].Length == 0))
        {
            value = ServerFeatures;
        }
        else if (args.Length == 1 && TryDomainId(args[0], out uint domid))
        {
            if (!r.Connection.IsPrivileged && domid != r.Connection.DomainId)
            {
                return XsError.EACCES;
            }

            if (!IsKnown(domid))
            {
                return XsError.ENOENT;
            }

            value = Domain(domid).Features & ServerFeatures;
        }
        else
        {
            return XsError.EINVAL;
        }

        Reply(in r, XsText.Latin1.GetBytes(value.ToString(CultureInfo.InvariantCulture) + "\0"));
        return null;
    }

    private XsError? DoSetFeature(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, 3);
        if (args.Length != 2 || !TryDomainId(args[0], out uint domid) ||
            !uint.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint features))
        {
            return XsError.EINVAL;
        }

        if (!IsKnown(domid))
        {
            return XsError.ENOENT;
        }

        Domain(domid).Features = features;
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
        }
        else
        {
            if (_quotas.With(name, value) is not { } updated)
            {
                return XsError.EINVAL;
            }

            _quotas = updated;
        }

        Reply(in r, OkPayload);
        return null;
    }
}
