using System.CommandLine;
using System.CommandLine.Parsing;

namespace Xen.Tool.Commands;

/// <summary>
/// <c>-s/--socket PATH</c>, shared by every <c>xen store</c> command, and the split of the command line into the
/// socket and the operands.
/// </summary>
/// <remarks>
/// xenstore-utils also accept <c>-s</c>, as a flag without argument that Xen 4.17's clients ignore (libxenstore
/// picks the socket either way). So scripts written for them keep working, the token after <c>-s</c> is the socket
/// only when it names an existing file system entry that is not a directory; otherwise <c>-s</c> is that ignored
/// flag and the token stays an operand, in its place on the command line. <c>--socket</c> always takes the path.
/// </remarks>
internal static class StoreSocketOption
{
    private const string DiscoveryText =
        "Connect to the xenstored Unix socket at PATH. Without it the daemon is found as libxenstore finds it: " +
        "$XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket, else /dev/xen/xenbus or " +
        "/proc/xen/xenbus.";

    public const string HelpText = DiscoveryText +
        " xenstore-utils' -s takes no argument (and 4.17 ignores it): a bare -s, or -s followed by " +
        "anything that is not an existing file, is accepted and ignored the same way; --socket always takes PATH.";

    public static Option<string?> Create() => new("--socket", "-s")
    {
        Arity = ArgumentArity.ZeroOrOne,
        Description = HelpText,
        HelpName = "PATH",
    };

    /// <summary>
    /// <c>-s/--socket PATH</c> for commands that are not xenstore-utils look-alikes (<c>xen blktap</c>): the option
    /// always takes the path, and applies to the subcommands of the command it is added to.
    /// </summary>
    public static Option<string?> CreateWithPath() => new("--socket", "-s")
    {
        Description = DiscoveryText,
        HelpName = "PATH",
        Recursive = true,
    };

    public static Argument<string[]> Operands(string name, string description) => new(name)
    {
        Arity = ArgumentArity.ZeroOrMore,
        Description = description,
    };

    /// <summary>The socket path (null: find the daemon) and the operands in command-line order.</summary>
    public static (string? SocketPath, List<string> Operands) Split(ParseResult parseResult, Option<string?> socket, Argument<string[]> operands)
    {
        OptionResult? socketResult = parseResult.GetResult(socket);
        ArgumentResult? operandResult = parseResult.GetResult(operands);
        Token? socketToken = socketResult is { Tokens.Count: > 0 } ? socketResult.Tokens[^1] : null;
        string? socketPath = null;
        if (socketToken is not null && (socketResult!.IdentifierToken?.Value == "--socket" || File.Exists(socketToken.Value)))
        {
            socketPath = socketToken.Value;
            socketToken = null;
        }

        var result = new List<string>();
        foreach (Token token in parseResult.Tokens)
        {
            if (ReferenceEquals(token, socketToken) || (operandResult is not null && operandResult.Tokens.Any(t => ReferenceEquals(t, token))))
            {
                result.Add(token.Value);
            }
        }

        return (socketPath, result);
    }
}
