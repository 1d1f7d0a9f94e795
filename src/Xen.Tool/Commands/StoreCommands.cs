using System.CommandLine;

namespace Xen.Tool.Commands;

/// <summary>
/// <c>xen store</c>: the xenstore-utils commands (read, write, ls, list, rm, exists, chmod, watch) with their
/// options, output and exit statuses, plus mkdir.
/// </summary>
internal static class StoreCommands
{
    /// <summary>The <c>store</c> command with its subcommands, writing to <paramref name="console"/> (default: the process's).</summary>
    public static Command Create(ToolConsole? console = null)
    {
        console ??= ToolConsole.ForProcess();
        var store = new Command("store", "Talk to xenstored like xenstore-utils (xenstore-read, -write, -ls, ...): same options, output and exit statuses, so their scripts work unchanged; failures also name the error (ENOENT, EACCES, ...). The daemon is found as libxenstore finds it, or given with -s/--socket PATH.");
        store.Subcommands.Add(StoreReadCommand.Create(console));
        store.Subcommands.Add(StoreWriteCommand.Create(console));
        store.Subcommands.Add(StoreLsCommand.Create(console));
        store.Subcommands.Add(StoreListCommand.Create(console));
        store.Subcommands.Add(StoreRmCommand.Create(console));
        store.Subcommands.Add(StoreExistsCommand.Create(console));
        store.Subcommands.Add(StoreMkdirCommand.Create(console));
        store.Subcommands.Add(StoreChmodCommand.Create(console));
        store.Subcommands.Add(StoreWatchCommand.Create(console));
        store.Subcommands.Add(StoreServeCommand.Create());
        return store;
    }
}
