using System.CommandLine;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Tool.Commands;

/// <summary><c>xen store exists key [...]</c>: xenstore-exists.</summary>
internal static class StoreExistsCommand
{
    public static Command Create(ToolConsole console) => StoreKeysCommand.Create(
        console,
        "exists",
        "The nodes to look for.",
        "Exit with status 0 when every node exists (can be read), 1 otherwise, checked in one transaction. As xenstore-exists, a missing node prints nothing; other errors (EACCES, ...) are named on standard error.",
        ExistsAsync);

    private static async Task<int> ExistsAsync(StoreRun run, XenStoreOperations ops, string key, CancellationToken cancellationToken)
    {
        try
        {
            await StoreRun.ReadAsync(ops, key, cancellationToken).ConfigureAwait(false);
            return 0;
        }
        catch (XenStoreErrorException e) when (e.Error == XsError.ENOENT)
        {
            return 1;
        }
        catch (XenStoreException e)
        {
            run.Warn($"couldn't read path {key}", e);
            return 1;
        }
    }
}
