using System.CommandLine;
using Xen.Store;
using Xen.Store.Client;

namespace Xen.Tool.Commands;

/// <summary><c>xen store mkdir key [...]</c>: MKDIR, which xenstore-utils have no command for.</summary>
internal static class StoreMkdirCommand
{
    public static Command Create(ToolConsole console) => StoreKeysCommand.Create(
        console,
        "mkdir",
        "The nodes to create.",
        "Create nodes with an empty value (and missing parents), in one transaction; a node that exists keeps its value. xenstore-utils have no such command: it behaves as its siblings (a failure is named on standard error, exit status 1).",
        MkdirAsync);

    private static async Task<int> MkdirAsync(StoreRun run, XenStoreOperations ops, string key, CancellationToken cancellationToken)
    {
        try
        {
            StoreRun.CheckPath(key);
            await ops.MkdirAsync(key, cancellationToken).ConfigureAwait(false);
            return 0;
        }
        catch (XenStoreException e)
        {
            run.Warn($"could not create path {key}", e);
            return 1;
        }
    }
}
