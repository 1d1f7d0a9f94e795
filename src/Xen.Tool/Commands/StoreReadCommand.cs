using System.CommandLine;
using System.Text;
using Xen.Store;

namespace Xen.Tool.Commands;

/// <summary><c>xen store read [-p] [-R] key [...]</c>: xenstore-read.</summary>
internal static class StoreReadCommand
{
    public static Command Create(ToolConsole console)
    {
        Option<string?> socket = StoreSocketOption.Create();
        var prefix = new Option<bool>("--prefix", "-p") { Description = "Print each key before its value: \"key: value\"." };
        var raw = new Option<bool>("--raw", "-R") { Description = "Print the values' bytes as they are: no escaping and no newline." };
        Argument<string[]> keys = StoreSocketOption.Operands("key", "The nodes to read (absolute, or relative to the connection's /local/domain/<domid>).");
        var command = new Command("read", "Print the values of nodes, escaped (\\t \\n \\r \\\\ \\ooo \\xhh), one a line; several keys are read in one transaction. As xenstore-read: on a failure the values read so far are printed, the failure goes to standard error and the exit status is 1.");
        command.Options.Add(socket);
        command.Options.Add(prefix);
        command.Options.Add(raw);
        command.Arguments.Add(keys);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var (socketPath, operands) = StoreSocketOption.Split(parseResult, socket, keys);
            return RunAsync(new StoreRun(console, "read"), socketPath, operands, parseResult.GetValue(prefix), parseResult.GetValue(raw), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(StoreRun run, string? socketPath, List<string> keys, bool prefix, bool raw, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return run.Usage("[-h] [-p] [-s PATH] [-R] key [...]");
        }

        var output = new MemoryStream();
        return await run.RunAsync(socketPath, async client =>
        {
            int result = await StoreRun.TransactAsync(client, keys.Count > 1, async ops =>
            {
                foreach (string key in keys)
                {
                    byte[] value;
                    try
                    {
                        value = await StoreRun.ReadAsync(ops, key, cancellationToken).ConfigureAwait(false);
                    }
                    catch (XenStoreException e)
                    {
                        run.Warn($"couldn't read path {key}", e);
                        return 1;
                    }

                    if (prefix)
                    {
                        output.Write(Encoding.UTF8.GetBytes(key + ": "));
                    }

                    if (raw)
                    {
                        output.Write(value);
                    }
                    else
                    {
                        output.Write(Encoding.ASCII.GetBytes(XsValueText.Sanitise(value) + "\n"));
                    }
                }

                return 0;
            }, () => output.SetLength(0), cancellationToken).ConfigureAwait(false);
            await run.FlushAsync(output, cancellationToken).ConfigureAwait(false);
            return result;
        }, null, cancellationToken).ConfigureAwait(false);
    }
}
