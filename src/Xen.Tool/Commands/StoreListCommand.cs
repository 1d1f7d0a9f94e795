using System.CommandLine;
using System.Text;
using Xen.Store;

namespace Xen.Tool.Commands;

/// <summary><c>xen store list [-p] key [...]</c>: xenstore-list.</summary>
internal static class StoreListCommand
{
    public static Command Create(ToolConsole console)
    {
        Option<string?> socket = StoreSocketOption.Create();
        var prefix = new Option<bool>("--prefix", "-p") { Description = "Print each child as key/child (for / that is //child, as xenstore-list 4.17 prints it)." };
        Argument<string[]> keys = StoreSocketOption.Operands("key", "The nodes whose children to list.");
        var command = new Command("list", "Print the names of the children of nodes, one a line, in one transaction. As xenstore-list.");
        command.Options.Add(socket);
        command.Options.Add(prefix);
        command.Arguments.Add(keys);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var (socketPath, operands) = StoreSocketOption.Split(parseResult, socket, keys);
            return RunAsync(new StoreRun(console, "list"), socketPath, operands, parseResult.GetValue(prefix), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(StoreRun run, string? socketPath, List<string> keys, bool prefix, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return run.Usage("[-h] [-p] [-s PATH] key [...]");
        }

        var output = new MemoryStream();
        return await run.RunAsync(socketPath, async client =>
        {
            int result = await StoreRun.TransactAsync(client, true, async ops =>
            {
                foreach (string key in keys)
                {
                    IReadOnlyList<string> children;
                    try
                    {
                        children = await StoreRun.DirectoryAsync(ops, key, cancellationToken).ConfigureAwait(false);
                    }
                    catch (XenStoreException e)
                    {
                        run.Warn($"could not list path {key}", e);
                        return 1;
                    }

                    foreach (string child in children)
                    {
                        output.Write(Encoding.UTF8.GetBytes(prefix ? $"{key}/{child}\n" : child + "\n"));
                    }
                }

                return 0;
            }, () => output.SetLength(0), cancellationToken).ConfigureAwait(false);
            await run.FlushAsync(output, cancellationToken).ConfigureAwait(false);
            return result;
        }, null, cancellationToken).ConfigureAwait(false);
    }
}
