using System.CommandLine;
using Xen.Store.Client;

namespace Xen.Tool.Commands;

/// <summary>
/// The shape of the <c>xen store</c> commands that take only keys (<c>exists</c>, <c>mkdir</c>):
/// <c>xen store NAME [-s PATH] key [...]</c>, every key handled in one transaction (run again on EAGAIN),
/// stopping at the first key whose step returns a non-zero exit status.
/// </summary>
internal static class StoreKeysCommand
{
    /// <summary>The command; <paramref name="perKey"/> handles one key and returns 0 to go on, else the exit status.</summary>
    public static Command Create(
        ToolConsole console,
        string name,
        string keysDescription,
        string description,
        Func<StoreRun, XenStoreOperations, string, CancellationToken, Task<int>> perKey)
    {
        Option<string?> socket = StoreSocketOption.Create();
        Argument<string[]> keys = StoreSocketOption.Operands("key", keysDescription);
        var command = new Command(name, description);
        command.Options.Add(socket);
        command.Arguments.Add(keys);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var (socketPath, operands) = StoreSocketOption.Split(parseResult, socket, keys);
            return RunAsync(new StoreRun(console, name), socketPath, operands, perKey, cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(
        StoreRun run,
        string? socketPath,
        List<string> keys,
        Func<StoreRun, XenStoreOperations, string, CancellationToken, Task<int>> perKey,
        CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return run.Usage("[-h] [-s PATH] key [...]");
        }

        return await run.RunAsync(socketPath, client => StoreRun.TransactAsync(client, true, async ops =>
        {
            foreach (string key in keys)
            {
                int status = await perKey(run, ops, key, cancellationToken).ConfigureAwait(false);
                if (status != 0)
                {
                    return status;
                }
            }

            return 0;
        }, () => { }, cancellationToken), null, cancellationToken).ConfigureAwait(false);
    }
}
