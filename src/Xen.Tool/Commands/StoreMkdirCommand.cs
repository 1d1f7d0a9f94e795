using System.CommandLine;
using Xen.Store;

namespace Xen.Tool.Commands;

/// <summary><c>xen store mkdir key [...]</c>: MKDIR, which xenstore-utils have no command for.</summary>
internal static class StoreMkdirCommand
{
    public static Command Create(StoreConsole console)
    {
        Option<string?> socket = StoreSocketOption.Create();
        Argument<string[]> keys = StoreSocketOption.Operands("key", "The nodes to create.");
        var command = new Command("mkdir", "Create nodes with an empty value (and missing parents), in one transaction; a node that exists keeps its value. xenstore-utils have no such command: it behaves as its siblings (a failure is named on standard error, exit status 1).");
        command.Options.Add(socket);
        command.Arguments.Add(keys);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var (socketPath, operands) = StoreSocketOption.Split(parseResult, socket, keys);
            return RunAsync(new StoreRun(console, "mkdir"), socketPath, operands, cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(StoreRun run, string? socketPath, List<string> keys, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return run.Usage("[-h] [-s PATH] key [...]");
        }

        return await run.RunAsync(socketPath, client => StoreRun.TransactAsync(client, true, async ops =>
        {
            foreach (string key in keys)
            {
                try
                {
                    StoreRun.CheckPath(key);
                    await ops.MkdirAsync(key, cancellationToken).ConfigureAwait(false);
                }
                catch (XenStoreException e)
                {
                    run.Warn($"could not create path {key}", e);
                    return 1;
                }
            }

            return 0;
        }, () => { }, cancellationToken), null, cancellationToken).ConfigureAwait(false);
    }
}
