using System.CommandLine;
using Xen.Store;
using Xen.Store.Wire;

namespace Xen.Tool.Commands;

/// <summary><c>xen store exists key [...]</c>: xenstore-exists.</summary>
internal static class StoreExistsCommand
{
    public static Command Create(StoreConsole console)
    {
        Option<string?> socket = StoreSocketOption.Create();
        Argument<string[]> keys = StoreSocketOption.Operands("key", "The nodes to look for.");
        var command = new Command("exists", "Exit with status 0 when every node exists (can be read), 1 otherwise, checked in one transaction. As xenstore-exists, a missing node prints nothing; other errors (EACCES, ...) are named on standard error.");
        command.Options.Add(socket);
        command.Arguments.Add(keys);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var (socketPath, operands) = StoreSocketOption.Split(parseResult, socket, keys);
            return RunAsync(new StoreRun(console, "exists"), socketPath, operands, cancellationToken);
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
                    await StoreRun.ReadAsync(ops, key, cancellationToken).ConfigureAwait(false);
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

            return 0;
        }, () => { }, cancellationToken), null, cancellationToken).ConfigureAwait(false);
    }
}
