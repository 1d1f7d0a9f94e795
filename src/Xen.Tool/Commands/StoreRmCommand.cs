using System.CommandLine;
using Xen.Store;
using Xen.Store.Client;

namespace Xen.Tool.Commands;

/// <summary><c>xen store rm [-t] key [...]</c>: xenstore-rm.</summary>
internal static class StoreRmCommand
{
    public static Command Create(ToolConsole console)
    {
        Option<string?> socket = StoreSocketOption.Create();
        var tidy = new Option<bool>("--tidy", "-t") { Description = "Then remove each parent that is left with no value and no children, up to the root." };
        Argument<string[]> keys = StoreSocketOption.Operands("key", "The nodes to remove (with everything below them).");
        var command = new Command("rm", "Remove nodes and everything below them, in one transaction. As xenstore-rm: a missing node whose parent exists is not an error.");
        command.Options.Add(socket);
        command.Options.Add(tidy);
        command.Arguments.Add(keys);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var (socketPath, operands) = StoreSocketOption.Split(parseResult, socket, keys);
            return RunAsync(new StoreRun(console, "rm"), socketPath, operands, parseResult.GetValue(tidy), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(StoreRun run, string? socketPath, List<string> keys, bool tidy, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return run.Usage("[-h] [-s PATH] [-t] key [...]");
        }

        return await run.RunAsync(socketPath, client => StoreRun.TransactAsync(client, true, async ops =>
        {
            foreach (string key in keys)
            {
                string path = key;
                while (true)
                {
                    if (!await RemoveAsync(run, ops, path, cancellationToken).ConfigureAwait(false))
                    {
                        return 1;
                    }

                    int slash = path.LastIndexOf('/');
                    if (!tidy || slash < 0)
                    {
                        break;
                    }

                    path = path[..slash];
                    byte[]? value = await StoreRun.TryReadAsync(ops, path, cancellationToken).ConfigureAwait(false);
                    if (value is not { Length: 0 })
                    {
                        break;
                    }

                    IReadOnlyList<string>? children = await StoreRun.TryDirectoryAsync(ops, path, cancellationToken).ConfigureAwait(false);
                    if (children is not { Count: 0 })
                    {
                        break;
                    }
                }
            }

            return 0;
        }, () => { }, cancellationToken), null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<bool> RemoveAsync(StoreRun run, XenStoreOperations ops, string path, CancellationToken cancellationToken)
    {
        try
        {
            StoreRun.CheckPath(path);
            await ops.RemoveAsync(path, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (XenStoreException e)
        {
            run.Warn($"could not remove path {path}", e);
            return false;
        }
    }
}
