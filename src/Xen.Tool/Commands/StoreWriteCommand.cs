using System.CommandLine;
using System.Text;
using Xen.Store;
using Xen.Store.Wire;

namespace Xen.Tool.Commands;

/// <summary><c>xen store write [-R] key value [...]</c>: xenstore-write.</summary>
internal static class StoreWriteCommand
{
    public static Command Create(ToolConsole console)
    {
        Option<string?> socket = StoreSocketOption.Create();
        var raw = new Option<bool>("--raw", "-R") { Description = "Write each value's bytes as given, without unescaping." };
        Argument<string[]> pairs = StoreSocketOption.Operands("key value", "Pairs of a node and its new value; the value is unescaped (\\t \\n \\r \\\\ \\ooo \\xhh) unless -R is given.");
        var command = new Command("write", "Set the values of nodes, creating them and missing parents; several pairs are written in one transaction. As xenstore-write.");
        command.Options.Add(socket);
        command.Options.Add(raw);
        command.Arguments.Add(pairs);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var (socketPath, operands) = StoreSocketOption.Split(parseResult, socket, pairs);
            return RunAsync(new StoreRun(console, "write"), socketPath, operands, parseResult.GetValue(raw), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(StoreRun run, string? socketPath, List<string> operands, bool raw, CancellationToken cancellationToken)
    {
        if (operands.Count == 0 || operands.Count % 2 == 1)
        {
            return run.Usage("[-h] [-s PATH] [-R] key value [...]");
        }

        return await run.RunAsync(socketPath, client => StoreRun.TransactAsync(client, operands.Count > 2, async ops =>
        {
            for (int i = 0; i < operands.Count; i += 2)
            {
                string key = operands[i];
                byte[] value = raw ? Encoding.UTF8.GetBytes(operands[i + 1]) : XsValueText.Unsanitise(operands[i + 1]);
                try
                {
                    StoreRun.CheckPath(key);
                    if (Encoding.UTF8.GetByteCount(key) + 1 + value.Length > XsHeader.PayloadMax)
                    {
                        throw new XenStoreErrorException("E2BIG", $"WRITE {key}");
                    }

                    await ops.WriteAsync(key, value, cancellationToken).ConfigureAwait(false);
                }
                catch (XenStoreException e)
                {
                    run.Warn($"could not write path {key}", e);
                    return 1;
                }
            }

            return 0;
        }, () => { }, cancellationToken), null, cancellationToken).ConfigureAwait(false);
    }
}
