using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Xen.Blktap.Host;

/// <summary>
/// One line of <c>tap-ctl list</c>: <c>pid=%d minor=%d state=%#x args=%s</c>. A minor that is allocated but has no
/// tapdisk shows <c>pid=-1</c>; <c>args</c> (<c>driver:file</c>) is empty when no image is open.
/// </summary>
/// <param name="ProcessId">The tapdisk's pid, or -1.</param>
/// <param name="Minor">The device minor, or -1 for a tapdisk with no device.</param>
/// <param name="State">The state word, as tapdisk reports it.</param>
/// <param name="Arguments">The <c>driver:file</c> open in the tapdisk, or null.</param>
public sealed record TapCtlListEntry(int ProcessId, int Minor, int State, string? Arguments)
{
    /// <summary>Parses one line; false when it is not a list line.</summary>
    public static bool TryParse(string? line, [NotNullWhen(true)] out TapCtlListEntry? entry)
    {
        entry = null;
        if (string.IsNullOrWhiteSpace(line))
        {
            return false;
        }

        line = line.Trim();
        int argsAt = line.IndexOf("args=", StringComparison.Ordinal);
        string head = argsAt < 0 ? line : line[..argsAt];
        string? arguments = argsAt < 0 ? null : line[(argsAt + "args=".Length)..];
        int? pid = null, minor = null, state = null;
        foreach (string field in head.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = field.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                return false;
            }

            string name = field[..equals];
            string value = field[(equals + 1)..];
            switch (name)
            {
                case "pid" when int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int p):
                    pid = p;
                    break;
                case "minor" when int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int m):
                    minor = m;
                    break;
                case "state" when TryParseState(value, out int s):
                    state = s;
                    break;
                default:
                    return false;
            }
        }

        if (pid is null || minor is null)
        {
            return false;
        }

        entry = new TapCtlListEntry(pid.Value, minor.Value, state ?? 0, string.IsNullOrEmpty(arguments) ? null : arguments);
        return true;
    }

    private static bool TryParseState(string value, out int state)
    {
        // printf's %#x: "0" for zero, "0x<hex>" otherwise.
        if (value.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return int.TryParse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out state);
        }

        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out state);
    }
}
