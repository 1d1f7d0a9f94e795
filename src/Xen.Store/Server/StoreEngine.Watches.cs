using System.Globalization;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>Watches: registration, the initial event, and firing on changes.</summary>
internal sealed partial class StoreEngine
{
    private XsError? DoWatch(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, 4);
        int? depth = null;
        if (args.Length == 3)
        {
            // Xen 4.22: a depth only from a domain that has WATCHDEPTH (SET_FEATURE may have taken it away), never negative.
            uint features = r.Connection.State.Domain?.Features ?? ServerFeatures;
            if ((features & (uint)Xen.Rings.XenStore.XenStoreServerFeatures.WatchDepth) == 0 ||
                !int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out int d))
            {
                return XsError.EINVAL;
            }

            depth = d;
        }
        else if (args.Length != 2)
        {
            return XsError.EINVAL;
        }

        ServerConnection conn = r.Connection;
        XsError? e = Canonical(conn, args[0], true, out string abs);
        if (e != null)
        {
            return e;
        }

        foreach (StoreWatch w in conn.State.Watches)
        {
            if (w.AbsolutePath == abs && w.Token == args[1])
            {
                return XsError.EEXIST;
            }
        }

        if (QuotaOf(conn).TooManyWatches(conn.State.Watches.Count))
        {
            return XsError.E2BIG;
        }

        var watch = new StoreWatch(args[0], abs, args[1], depth);
        if (!conn.IsPrivileged && MemoryOver(conn.DomainId, WatchMemory(watch)))
        {
            return XsError.ENOMEM;
        }

        conn.State.Watches.Add(watch);
        WatchesChanged(conn);
        Reply(in r, OkPayload);
        SendEvent(conn, watch, watch.Path);
        return null;
    }

    private XsError? DoUnwatch(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, 3);
        if (args.Length != 2)
        {
            return XsError.EINVAL;
        }

        XsError? e = Canonical(r.Connection, args[0], true, out string abs);
        if (e != null)
        {
            return e;
        }

        List<StoreWatch> watches = r.Connection.State.Watches;
        for (int i = 0; i < watches.Count; i++)
        {
            if (watches[i].AbsolutePath == abs && watches[i].Token == args[1])
            {
                watches.RemoveAt(i);
                WatchesChanged(r.Connection);
                Reply(in r, OkPayload);
                return null;
            }
        }

        return XsError.ENOENT;
    }

    private XsError? DoResetWatches(in Request r)
    {
        r.Connection.State.Reset();
        WatchesChanged(r.Connection);
        Reply(in r, OkPayload);
        return null;
    }

    /// <summary>
    /// Queues the events of one committed change: every watch at or above the path fires with the path; for a removal,
    /// every watch below it fires with its own path. A connection only hears of nodes it may read.
    /// </summary>
    private void FireNow(PendingEvent change)
    {
        StoreNode? current = null;
        bool looked = false;
        foreach (ServerConnection conn in _connections)
        {
            if (conn.IsClosed || conn.State.Watches.Count == 0)
            {
                continue;
            }

            foreach (StoreWatch w in conn.State.Watches)
            {
                if (w.IsSpecial)
                {
                    continue;
                }

                string eventPath;
                if (XsPath.IsAtOrBelow(change.Path, w.AbsolutePath))
                {
                    if (!w.WithinDepth(change.Path))
                    {
                        continue;
                    }

                    eventPath = change.Path;
                }
                else if (change.Recursive && XsPath.IsAtOrBelow(w.AbsolutePath, change.Path))
                {
                    eventPath = w.AbsolutePath;
                }
                else
                {
                    continue;
                }

                if (!conn.IsPrivileged)
                {
                    XsPermission[]? perms;
                    if (change.Removed is { } removed)
                    {
                        perms = removed.GetValueOrDefault(eventPath) ?? removed.GetValueOrDefault(change.Path);
                    }
                    else
                    {
                        if (!looked)
                        {
                            current = _tree.Get(change.Path);
                            looked = true;
                        }

                        perms = current?.Permissions;
                    }

                    bool readable = (perms is not null && StorePermissions.Allows(conn, perms, StoreAccess.Read)) ||
                        (change.OldPermissions is { } old && StorePermissions.Allows(conn, old, StoreAccess.Read));
                    if (!readable)
                    {
                        continue;
                    }
                }

                SendEvent(conn, w, w.Report(eventPath, conn.DomainId));
            }
        }
    }

    /// <summary>
    /// Fires <c>@introduceDomain</c> or <c>@releaseDomain</c> to privileged watchers as Xen 4.22 does: a watch of the name
    /// without a depth gets the name; one with a depth of 1 or more (WATCHDEPTH) gets <c>NAME/DOMID</c> instead, as does a
    /// watch of <c>NAME/DOMID</c> itself; one of depth 0 gets neither (the special node has no children).
    /// </summary>
    private void FireSpecial(string name, uint domainId)
    {
        string perDomain = string.Create(CultureInfo.InvariantCulture, $"{name}/{domainId}");
        foreach (ServerConnection conn in _connections)
        {
            if (conn.IsClosed || !conn.IsPrivileged)
            {
                continue;
            }

            foreach (StoreWatch w in conn.State.Watches)
            {
                string? path = w.AbsolutePath == name ? (w.Depth is null ? name : w.Depth > 0 ? perDomain : null)
                    : w.AbsolutePath == perDomain ? perDomain
                    : null;
                if (path is not null)
                {
                    SendEvent(conn, w, path);
                }
            }
        }
    }

    private void SendEvent(ServerConnection conn, StoreWatch watch, string path)
    {
        if (XsMessageWriter.WatchEvent(path, watch.Token) is { } message)
        {
            conn.Enqueue(message);
            Metrics.WatchEventQueued();
        }
    }
}
