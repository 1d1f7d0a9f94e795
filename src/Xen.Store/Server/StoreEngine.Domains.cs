using System.Globalization;
using System.Text;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>Domain management (INTRODUCE, RELEASE, ...), CONTROL, features and quotas.</summary>
internal sealed partial class StoreEngine
{
    private const string ControlHelp =
        "check\t\nhelp\t\nlog\ton|off\nprint\t<string>\nquota\t[set <name> <val>|<domid>]\n";

    /// <summary>Introduces a domain served by <paramref name="ring"/> (a host attaching a ring itself); fires @introduceDomain.</summary>
    /// <exception cref="InvalidOperationException">The domain already has a ring.</exception>
    public void AttachDomain(uint domainId, ServerConnection ring)
    {
        lock (_gate)
        {
            DomainRecord d = Domain(domainId);
            if (d.Ring is { IsClosed: false })
            {
                throw new InvalidOperationException($"Domain {domainId} already has a xenstore ring.");
            }

            d.Introduced = true;
            d.Ring = ring;
            ring.State.Domain = d;
            _connections.Add(ring);
            FireSpecial(XsPath.IntroduceDomain, domainId);
        }
    }

    private static XsError? DoGetDomainPath(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError? e = OneArg(payload, out string arg);
        if (e != null || !TryDomainId(arg, out uint domid))
        {
            return XsError.EINVAL;
        }

        Reply(in r, XsText.Latin1.GetBytes(XsPath.DomainPath(domid) + "\0"));
        return null;
    }

    private XsError? DoIntroduce(in Request r, ReadOnlySpan<byte> payload)
    {
        if (!r.Connection.IsPrivileged)
        {
            return XsError.EACCES;
        }

        string[] args = Strings(payload, 3);
        if (args.Length < 3 || !TryDomainId(args[0], out uint domid) ||
            !ulong.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong gfn) ||
            !uint.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint port))
        {
            return XsError.EINVAL;
        }

        DomainRecord d = Domain(domid);
        if (!d.Introduced)
        {
            d.Gfn = gfn;
            d.Port = port;
            if (domid != 0 && RingFactory is { } factory && d.Ring is not { IsClosed: false })
            {
                ServerConnection? ring;
                try
                {
                    ring = factory(d);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or System.Net.Sockets.SocketException)
                {
                    return XsError.EINVAL;
                }

                if (ring is not null)
                {
                    d.Ring = ring;
                    ring.State.Domain = d;
                    _connections.Add(ring);
                }
            }

            d.Introduced = true;
            FireSpecial(XsPath.IntroduceDomain, domid);
        }

        Reply(in r, OkPayload);
        return null;
    }

    private XsError? DoRelease(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError? e = PrivilegedDomainArg(in r, payload, out DomainRecord? d);
        if (e != null)
        {
            return e;
        }

        Release(d!, "the domain was released");
        Reply(in r, OkPayload);
        return null;
    }

    /// <summary>
    /// The domains a host should check for death (<see cref="XenStoreServer.ReleaseDeadDomains"/>): every introduced
    /// domain but dom0.
    /// </summary>
    public uint[] IntroducedDomains()
    {
        lock (_gate)
        {
            return [.. _domains.Values.Where(d => d.Introduced && d.Id != 0).Select(d => d.Id)];
        }
    }

    /// <summary>Releases a domain that died, as RELEASE would; false when it is no longer introduced.</summary>
    public bool ReleaseDead(uint domainId)
    {
        lock (_gate)
        {
            if (domainId == 0 || !_domains.TryGetValue(domainId, out DomainRecord? d) || !d.Introduced)
            {
                return false;
            }

            Release(d, "the domain died");
            return true;
        }
    }

    /// <summary>
    /// Forgets an introduced domain as C xenstored does when RELEASE names it or it dies: its ring connection ends
    /// (with its watches and transactions), every node it owns is removed with what lies below (watchers hear of it
    /// as of an RM), then <c>@releaseDomain</c> fires.
    /// </summary>
    private void Release(DomainRecord d, string reason)
    {
        d.Introduced = false;
        if (d.Ring is { } ring)
        {
            d.Ring = null;
            ring.Close(reason);
            _connections.Remove(ring);
            ring.State.Reset();
        }

        RemoveNodesOwnedBy(d.Id);
        FireSpecial(XsPath.ReleaseDomain, d.Id);
    }

    /// <summary>
    /// Removes the nodes domain <paramref name="domainId"/> owns, walking the tree from the root in child order: each
    /// one found goes with its whole subtree (whoever owns the nodes below), and the walk does not enter it.
    /// </summary>
    private void RemoveNodesOwnedBy(uint domainId)
    {
        if (_tree.OwnedBy(domainId) == 0)
        {
            return;
        }

        var found = new List<string>();
        var pending = new Stack<string>();
        pending.Push("/");
        while (pending.Count > 0)
        {
            string path = pending.Pop();
            if (_tree.Get(path) is not { } node)
            {
                continue;
            }

            if (path != "/" && node.Owner == domainId)
            {
                found.Add(path);
                continue;
            }

            for (int i = node.Children.Count - 1; i >= 0; i--)
            {
                pending.Push(Child(path, node.Children[i]));
            }
        }

        foreach (string path in found)
        {
            FireNow(Remove(_tree, path, _tree.Get(path)!));
        }
    }

    private XsError? DoResume(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError? e = PrivilegedDomainArg(in r, payload, out _);
        if (e != null)
        {
            return e;
        }

        Reply(in r, OkPayload);
        return null;
    }

    private XsError? DoIsDomainIntroduced(in Request r, ReadOnlySpan<byte> payload)
    {
        if (!r.Connection.IsPrivileged)
        {
            return XsError.EACCES;
        }

        XsError? e = OneArg(payload, out string arg);
        if (e != null || !TryDomainId(arg, out uint domid))
        {
            return XsError.EINVAL;
        }

        bool introduced = domid == 0 || (_domains.TryGetValue(domid, out DomainRecord? d) && d.Introduced);
        Reply(in r, introduced ? "T\0"u8 : "F\0"u8);
        return null;
    }

    private XsError? DoSetTarget(in Request r, ReadOnlySpan<byte> payload)
    {
        if (!r.Connection.IsPrivileged)
        {
            return XsError.EACCES;
        }

        string[] args = Strings(payload, 3);
        if (args.Length != 2 || !TryDomainId(args[0], out uint domid) || !TryDomainId(args[1], out uint target))
        {
            return XsError.EINVAL;
        }

        if (!IsKnown(domid) || !IsKnown(target))
        {
            return XsError.ENOENT;
        }

        Domain(domid).Target = target;
        Reply(in r, OkPayload);
        return null;
    }

    private bool IsKnown(uint domid)
    {
        if (_domains.TryGetValue(domid, out DomainRecord? d) && d.Introduced)
        {
            return true;
        }

        foreach (ServerConnection c in _connections)
        {
            if (c.DomainId == domid)
            {
                return true;
            }
        }

        return false;
    }

    private XsError? PrivilegedDomainArg(in Request r, ReadOnlySpan<byte> payload, out DomainRecord? domain)
    {
        domain = null;
        if (!r.Connection.IsPrivileged)
        {
            return XsError.EACCES;
        }

        XsError? e = OneArg(payload, out string arg);
        if (e != null || !TryDomainId(arg, out uint domid))
        {
            return XsError.EINVAL;
        }

        if (!_domains.TryGetValue(domid, out domain) || !domain.Introduced)
        {
            return XsError.ENOENT;
        }

        return null;
    }

    // ---- CONTROL, features, quotas ------------------------------------------------------------------------------

    private XsError? DoControl(in Request r, ReadOnlySpan<byte> payload)
    {
        if (!r.Connection.IsPrivileged)
        {
            return XsError.EACCES;
        }

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
        if (!r.Connection.IsPrivileged)
        {
            return XsError.EACCES;
        }

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
        if (!r.Connection.IsPrivileged)
        {
            return XsError.EACCES;
        }

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
        if (!r.Connection.IsPrivileged)
        {
            return XsError.EACCES;
        }

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

    private static bool TryDomainId(string text, out uint domid) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out domid) && domid <= ushort.MaxValue;
}
