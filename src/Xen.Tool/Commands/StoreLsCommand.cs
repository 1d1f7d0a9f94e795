using System.CommandLine;
using System.Text;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Tool.Commands;

/// <summary><c>xen store ls [-f] [-p] [path ...]</c>: xenstore-ls.</summary>
internal static class StoreLsCommand
{
    public static Command Create(ToolConsole console)
    {
        Option<string?> socket = StoreSocketOption.Create();
        var full = new Option<bool>("--flat", "-f") { Description = "Print full paths instead of an indented tree, and never cut values (unless standard output is a terminal): output for scripts." };
        var permissions = new Option<bool>("--prefix", "-p") { Description = "Also print each node's permissions: (owner-and-default,others...), e.g. (n0,r5)." };
        Argument<string[]> paths = StoreSocketOption.Operands("path", "The subtrees to print (default /).");
        var command = new Command("ls", "Print subtrees: name = \"value\" indented one space per level, values escaped, lines cut to the terminal width (80 columns when standard output is not a terminal). As xenstore-ls: outside any transaction, nodes that vanish meanwhile are skipped.");
        command.Options.Add(socket);
        command.Options.Add(full);
        command.Options.Add(permissions);
        command.Arguments.Add(paths);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var (socketPath, operands) = StoreSocketOption.Split(parseResult, socket, paths);
            var run = new StoreRun(console, "ls");
            var layout = StoreLsLayout.For(parseResult.GetValue(full), console.TerminalColumns);
            return run.RunAsync(socketPath, async client =>
            {
                var output = new BufferedStream(console.Output);
                try
                {
                    foreach (string path in operands.Count == 0 ? ["/"] : operands)
                    {
                        await ListAsync(run, client, output, layout, path, 0, parseResult.GetValue(permissions), cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                }

                return 0;
            }, null, cancellationToken);
        });
        return command;
    }

    private static async Task ListAsync(StoreRun run, XenStoreClient client, Stream output, StoreLsLayout layout, string path, int depth, bool showPermissions, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> children;
        try
        {
            children = await StoreRun.DirectoryAsync(client, path, cancellationToken).ConfigureAwait(false);
        }
        catch (XenStoreErrorException e) when (depth > 0 && e.Error == XsError.ENOENT)
        {
            return; // removed while the tree was walked
        }
        catch (XenStoreException e)
        {
            throw StoreRun.Exit($"xs_directory ({path})", e);
        }

        foreach (string name in children)
        {
            string childPath = StoreLsLayout.ChildPath(path, name);
            int composedLength = path.Length + (path.EndsWith('/') ? 0 : 1) + name.Length;
            byte[]? value = composedLength < StoreLsLayout.PathBufferLength
                ? await StoreRun.TryReadAsync(client, childPath, cancellationToken).ConfigureAwait(false)
                : null;
            string line = layout.Entry(childPath, name, depth, value, value is not null, showPermissions);
            if (showPermissions)
            {
                try
                {
                    StoreRun.CheckPath(childPath);
                    line += StoreLsLayout.Permissions(await client.GetPermissionsAsync(childPath, cancellationToken).ConfigureAwait(false));
                }
                catch (XenStoreException e)
                {
                    run.Warn($"\ncould not access permissions for {name}: {XsErrorText.Describe(e)}");
                }
            }

            await output.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), cancellationToken).ConfigureAwait(false);
            await ListAsync(run, client, output, layout, childPath, depth + 1, showPermissions, cancellationToken).ConfigureAwait(false);
        }
    }
}
