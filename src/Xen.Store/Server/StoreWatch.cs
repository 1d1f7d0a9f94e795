using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>A registered watch of one connection.</summary>
/// <param name="Path">The path as the client gave it (relative paths come back relative in events).</param>
/// <param name="AbsolutePath">The path resolved against the connection's home (special <c>@</c> paths unchanged).</param>
/// <param name="Token">The token, echoed in every event.</param>
/// <param name="Depth">The WATCHDEPTH depth, or null for the whole subtree.</param>
internal sealed record StoreWatch(string Path, string AbsolutePath, string Token, int? Depth)
{
    public bool IsSpecial => AbsolutePath[0] == '@';

    public bool IsRelative => Path[0] != '/' && Path[0] != '@';

    /// <summary>The event path as this watch reports it: relative for a relative watch.</summary>
    public string Report(string absolutePath, uint domainId)
    {
        if (!IsRelative)
        {
            return absolutePath;
        }

        string home = XsPath.DomainPath(domainId);
        return absolutePath.Length > home.Length + 1 && absolutePath.StartsWith(home, StringComparison.Ordinal) && absolutePath[home.Length] == '/'
            ? absolutePath[(home.Length + 1)..]
            : absolutePath;
    }

    /// <summary>Whether an event at <paramref name="absolutePath"/> (at or below this watch) is within its depth.</summary>
    public bool WithinDepth(string absolutePath)
    {
        if (Depth is not int depth)
        {
            return true;
        }

        int extra = 0;
        for (int i = AbsolutePath == "/" ? 1 : AbsolutePath.Length; i < absolutePath.Length; i++)
        {
            if (absolutePath[i] == '/' || (i == 1 && AbsolutePath == "/"))
            {
                extra++;
            }
        }

        return extra <= depth;
    }
}

/// <summary>A change to report to watches, kept by a transaction until it commits.</summary>
/// <param name="Path">The absolute path that changed.</param>
/// <param name="Recursive">Whether the subtree was removed (watches below the path fire too).</param>
/// <param name="OldPermissions">For SET_PERMS, the permissions before the change (a watcher allowed to read under either is told).</param>
/// <param name="Removed">For RM, the permissions of every removed node by path.</param>
internal sealed record PendingEvent(string Path, bool Recursive, XsPermission[]? OldPermissions, Dictionary<string, XsPermission[]>? Removed);
