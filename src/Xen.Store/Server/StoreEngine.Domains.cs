using Xen.Rings.Host;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>Domains: INTRODUCE, RELEASE, RESUME, IS_DOMAIN_INTRODUCED, SET_TARGET, GET_DOMAIN_PATH, and what happens when a domain goes.</summary>
internal sealed partial class StoreEngine
{
    /// <summary><c>DOMID_SELF</c>: IS_DOMAIN_INTRODUCED answers T for it, as C xenstored does.</summary>
    private const uint DomidSelf = 0x7FF0;

    /// <summary><c>DOMID_FIRST_RESERVED</c>: no domain has this domid or a higher one.</summary>
    private const uint DomidFirstReserved = 0x7FF0;

    /// <summary>
    /// Introduces a domain served by <paramref name="ring"/> (a host attaching a ring itself); fires @introduceDomain
    /// unless <paramref name="announce"/> is false (domain 0's own kernel connection, which C xenstored introduces at
    /// start without the watch).
    /// </summary>
    /// <exception cref="InvalidOperationException">The domain already has a ring.</exception>
    public void AttachDomain(uint domainId, ServerConnection ring, bool announce = true)
    {
        lock (_gate)
        {
            DomainRecord d = Domain(domainId);
            if (d.Ring is { IsClosed: false })
            {
                throw new InvalidOperationException($"Domain {domainId} already has a xenstore ring.");
            }

            BeginChange();
            d.Introduced = true;
            DomainChanged(domainId);
            d.Ring = ring;
            ring.State.Domain = d;
            AddConnection(ring);
            RestoreWatches(d);
            if (announce)
            {
                FireSpecial(XsPath.IntroduceDomain, domainId);
            }

            EndChange();
            StoreLog.DomainIntroduced(Logger, domainId, d.Gfn, d.Port, $", its ring attached as {ring.Description}");
        }
    }

    private static XsError? DoGetDomainPath(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError? e = OneArg(payload, out string arg);
        if (e != null)
        {
            return e;
        }

        Reply(in r, XsText.Latin1.GetBytes(XsPath.DomainPath(AtoiDomainId(arg)) + "\0"));
        return null;
    }

    private XsError? DoIntroduce(in Request r, ReadOnlySpan<byte> payload)
    {
        // C xenstored reads the domid and port with atoi and does not read the gfn (it maps the reserved grant); the gfn
        // is kept here for a host that falls back to mapping the frame, read as strtoull would.
        string[] args = Strings(payload, 3);
        if (args.Length < 3)
        {
            return XsError.EINVAL;
        }

        uint domid = AtoiDomainId(args[0]);
        uint port = AtoiDomainId(args[2]);
        ulong gfn = unchecked((ulong)CStrtol(args[1], 10, out _));
        if (port == 0 || domid > ushort.MaxValue)
        {
            return XsError.EINVAL; // a domid above 16 bits no domain has (this server keeps domids in 16 bits)
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
                catch (XenHostException ex)
                {
                    StoreLog.IntroduceFailed(Logger, domid, gfn, port, ex.Message);
                    return XsErrors.FromErrno(ex.Errno); // the errno of the map or bind, as C xenstored answers it
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or System.Net.Sockets.SocketException)
                {
                    StoreLog.IntroduceFailed(Logger, domid, gfn, port, ex.Message);
                    return XsError.EINVAL;
                }

                if (ring is not null)
                {
                    d.Ring = ring;
                    ring.State.Domain = d;
                    AddConnection(ring);
                }
            }

            d.Introduced = true;
            DomainChanged(domid);
            FireSpecial(XsPath.IntroduceDomain, domid);
            StoreLog.DomainIntroduced(Logger, domid, gfn, port, d.Ring is { } served ? $", its ring served as {served.Description}" : "");
        }
        else if (domid != 0 && d.Ring is { IsClosed: false } ring)
        {
            // C xenstored's answer to a second INTRODUCE: a new event channel and domain_conn_reset (watches,
            // transactions, buffered data and the ring's indices go).
            try
            {
                ring.Reintroduce(port);
            }
            catch (XenHostException ex)
            {
                StoreLog.IntroduceFailed(Logger, domid, gfn, port, ex.Message);
                return XsErrors.FromErrno(ex.Errno);
            }

            d.Port = port;
            DomainChanged(domid);
            ring.State.Reset();
            WatchesChanged(ring);
        }

        Reply(in r, OkPayload);
        return null;
    }

    private XsError? DoRelease(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError? e = IntroducedDomainArg(payload, out DomainRecord? d);
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

            BeginChange();
            Release(d, "the domain died");
            EndChange();
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
        DomainChanged(d.Id);
        d.SavedWatches = null;
        DomainWatchesChanged(d.Id); // none now

        if (d.Ring is { } ring)
        {
            d.Ring = null;
            ring.Close(reason);
            _connections.Remove(ring);
            d.Connections.Remove(ring);
            ring.State.Reset();
        }

        RemoveNodesOwnedBy(d.Id);
        FireSpecial(XsPath.ReleaseDomain, d.Id);
        _refusals.Forget(d.Id);
        StoreLog.DomainReleased(Logger, d.Id, reason);
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
        XsError? e = IntroducedDomainArg(payload, out _);
        if (e != null)
        {
            return e;
        }

        Reply(in r, OkPayload);
        return null;
    }

    private XsError? DoIsDomainIntroduced(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError? e = OneArg(payload, out string arg);
        if (e != null)
        {
            return e;
        }

        uint domid = AtoiDomainId(arg);
        bool introduced = domid is 0 or DomidSelf || (_domains.TryGetValue(domid, out DomainRecord? d) && d.Introduced);
        Reply(in r, introduced ? "T\0"u8 : "F\0"u8);
        return null;
    }

    private XsError? DoSetTarget(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, 3);
        if (args.Length != 2)
        {
            return XsError.EINVAL;
        }

        uint domid = AtoiDomainId(args[0]);
        uint target = AtoiDomainId(args[1]);

        if (!IsKnown(domid) || !IsKnown(target))
        {
            return XsError.ENOENT;
        }

        Domain(domid).Target = target;
        DomainChanged(domid);
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

    /// <summary>The single domid argument of RELEASE and RESUME, naming an introduced domain.</summary>
    private XsError? IntroducedDomainArg(ReadOnlySpan<byte> payload, out DomainRecord? domain)
    {
        domain = null;
        XsError? e = OneArg(payload, out string arg);
        uint domid = e is null ? AtoiDomainId(arg) : 0;
        if (domid == 0)
        {
            return XsError.EINVAL; // C's onearg_domain: dom0 (or no number) is never released or resumed
        }

        if (!_domains.TryGetValue(domid, out domain) || !domain.Introduced)
        {
            return XsError.ENOENT;
        }

        return null;
    }
}
