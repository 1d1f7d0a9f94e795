using System.Text.RegularExpressions;

namespace Xen.Blktap.Tests.Support;

/// <summary>Which xenstore paths belong to a device (its backend, frontend or vm record, or anything below them).</summary>
internal static partial class Leftovers
{
    [GeneratedRegex(@"^(/local/domain/\d+/backend/(vbd|tap)/\d+/\d+|/local/domain/\d+/device/vbd/\d+|/vm/[^/]+/device/(vbd|tap|tap2)/\d+)(/|$)")]
    private static partial Regex DevicePath();

    /// <summary>The device paths among <paramref name="paths"/>.</summary>
    public static IReadOnlyList<string> DeviceNodes(IEnumerable<string> paths) => [.. paths.Where(p => DevicePath().IsMatch(p))];
}
