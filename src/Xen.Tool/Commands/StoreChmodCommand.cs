using System.CommandLine;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Tool.Commands;

/// <summary><c>xen store chmod [-u] [-r] key mode [mode ...]</c>: xenstore-chmod.</summary>
internal static class StoreChmodCommand
{
    /// <summary>xenstore-chmod composes child paths for <c>-r</c> in a buffer of this many bytes (<c>MAX_PATH_LEN</c>).</summary>
    private const int ChildPathBufferLength = 256;

    public static Command Create(ToolConsole console)
    {
        Option<string?> socket = StoreSocketOption.Create();
        var upto = new Option<bool>("--upto", "-u") { Description = "Also set the permissions of every parent of key (an absolute key's, up to the top level)." };
        var recurse = new Option<bool>("--recurse", "-r") { Description = "Also set the permissions of everything below key." };
        Argument<string[]> operands = StoreSocketOption.Operands("key mode", "The node, then its permissions: n (none), r (read), w (write) or b (both), each followed by a domain id; the first names the owner and the access of every domain not listed (e.g. n0 r5).");
        var command = new Command("chmod", "Set a node's permissions, in one transaction. As xenstore-chmod: the first failure ends the command (status 1) and nothing is changed.");
        command.Options.Add(socket);
        command.Options.Add(upto);
        command.Options.Add(recurse);
        command.Arguments.Add(operands);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var (socketPath, args) = StoreSocketOption.Split(parseResult, socket, operands);
            return RunAsync(new StoreRun(console, "chmod"), socketPath, args, parseResult.GetValue(upto), parseResult.GetValue(recurse), cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// Parses a mode as xenstore-chmod does: the letter, then the domain id read as C's <c>atoi</c> reads it (blanks,
    /// a sign, digits; anything after ignored; none at all is 0).
    /// </summary>
    /// <returns>The permission, or the error text when the letter is not one of n r w b.</returns>
    internal static (XsAccess Access, long DomainId)? ParseMode(string mode)
    {
        XsAccess? access = mode.Length == 0 ? null : XsPermission.AccessOf(mode[0]);
        return access is XsAccess a ? (a, Atoi(mode.AsSpan(1))) : null;
    }

    private static long Atoi(ReadOnlySpan<char> text)
    {
        int i = 0;
        while (i < text.Length && text[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
        {
            i++;
        }

        bool negative = false;
        if (i < text.Length && text[i] is '+' or '-')
        {
            negative = text[i] == '-';
            i++;
        }

        long value = 0;
        while (i < text.Length && text[i] is >= '0' and <= '9' && value < int.MaxValue)
        {
            value = (value * 10) + (text[i] - '0');
            i++;
        }

        return negative ? -value : value;
    }

    private static async Task<int> RunAsync(StoreRun run, string? socketPath, List<string> args, bool upto, bool recurse, CancellationToken cancellationToken)
    {
        if (args.Count == 0)
        {
            return run.Usage("[-h] [-u] [-r] [-s PATH] key <mode [modes...]>");
        }

        string key = args[0];
        var modes = new List<(XsAccess Access, long DomainId)>();
        foreach (string text in args.Skip(1))
        {
            if (ParseMode(text) is not { } mode)
            {
                run.Warn($"Invalid permission specification: '{(text.Length == 0 ? string.Empty : text[..1])}'");
                return 1;
            }

            modes.Add(mode);
        }

        return await run.RunAsync(socketPath, client => StoreRun.TransactAsync(client, true, async ops =>
        {
            await SetAsync(ops, key, modes, upto, recurse, cancellationToken).ConfigureAwait(false);
            return 0;
        }, () => { }, cancellationToken), null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task SetAsync(XenStoreOperations ops, string path, List<(XsAccess Access, long DomainId)> modes, bool upto, bool recurse, CancellationToken cancellationToken)
    {
        if (path.Length == 0)
        {
            return;
        }

        try
        {
            StoreRun.CheckPath(path);
            if (modes.Count == 0)
            {
                throw new XenStoreErrorException("EINVAL", $"SET_PERMS {path} (no permission given)");
            }

            var permissions = new List<XsPermission>(modes.Count);
            foreach (var (access, domainId) in modes)
            {
                if (domainId is < 0 or > ushort.MaxValue)
                {
                    throw new XenStoreErrorException("EINVAL", $"SET_PERMS {path} (domain id {domainId} outside 0..65535)");
                }

                permissions.Add(new XsPermission(access, (ushort)domainId));
            }

            await ops.SetPermissionsAsync(path, permissions, cancellationToken).ConfigureAwait(false);
        }
        catch (XenStoreException e)
        {
            throw StoreRun.Exit($"Error occurred setting permissions on '{path}'", e);
        }

        if (upto)
        {
            int slash = path.LastIndexOf('/');
            if (slash < 0)
            {
                throw StoreRun.Exit($"Unable to locate path separator '/' in '{path}'");
            }

            await SetAsync(ops, path[..slash], modes, upto: true, recurse: false, cancellationToken).ConfigureAwait(false);
        }

        if (recurse)
        {
            IReadOnlyList<string>? children = await StoreRun.TryDirectoryAsync(ops, path, cancellationToken).ConfigureAwait(false);
            foreach (string child in children ?? [])
            {
                string childPath = path + "/" + child;
                if (childPath.Length >= ChildPathBufferLength)
                {
                    childPath = childPath[..(ChildPathBufferLength - 1)];
                }

                await SetAsync(ops, childPath, modes, upto: false, recurse: true, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
