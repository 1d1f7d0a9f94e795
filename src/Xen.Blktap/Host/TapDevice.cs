using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Xen.Blktap.Host;

/// <summary>
/// A tap device of the host: the block device a tapdisk serves (<c>/dev/xen/blktap-2/tapdev&lt;minor&gt;</c>).
/// </summary>
/// <param name="Minor">The device's minor number: the <c>N</c> of <c>tapdevN</c> and of <c>/sys/class/blktap2/blktapN</c>.</param>
/// <param name="DevicePath">The block device the tapdisk serves; a vbd backend's <c>params</c>.</param>
/// <param name="Arguments">The <c>driver:file</c> the tapdisk was started with, when the backend knows it.</param>
/// <param name="ProcessId">The tapdisk's pid, when the backend knows it (tap-ctl does).</param>
public sealed record TapDevice(int Minor, string DevicePath, string? Arguments = null, int? ProcessId = null)
{
    /// <summary>The directory Linux's blktap2 driver puts its block devices in.</summary>
    public const string DeviceDirectory = "/dev/xen/blktap-2";

    /// <summary>The block device name prefix.</summary>
    public const string DeviceNamePrefix = "tapdev";

    /// <summary>
    /// The minor of a tap device path: the digits after a final <c>tapdev</c>, as <c>tapdev(\d+)$</c> finds them
    /// (<c>/dev/xen/blktap-2/tapdev3</c> -> 3). False for anything else (a <c>phy:</c> device, a blktap1 spec).
    /// </summary>
    public static bool TryParseMinor(string? devicePath, out int minor)
    {
        minor = -1;
        if (devicePath is null)
        {
            return false;
        }

        int slash = devicePath.LastIndexOf('/');
        ReadOnlySpan<char> name = devicePath.AsSpan(slash + 1);
        if (!name.StartsWith(DeviceNamePrefix, StringComparison.Ordinal))
        {
            return false;
        }

        ReadOnlySpan<char> digits = name[DeviceNamePrefix.Length..];
        if (digits.IsEmpty || digits.Length > 9)
        {
            return false;
        }

        foreach (char c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        minor = int.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>The standard device path of minor <paramref name="minor"/> under <paramref name="devRoot"/> (default <c>/dev</c>).</summary>
    public static string PathFor(int minor, string devRoot = "/dev") =>
        string.Create(CultureInfo.InvariantCulture, $"{devRoot.TrimEnd('/')}/xen/blktap-2/{DeviceNamePrefix}{minor}");

    /// <summary>Parses a tool's reply naming the device it made (its first line); <paramref name="devicePath"/> is null when the line is no tap device path.</summary>
    internal static bool TryParseCreated(string output, [NotNullWhen(true)] out string? devicePath, out int minor)
    {
        devicePath = output.Split('\n', 2)[0].Trim();
        if (devicePath.Length > 0 && devicePath[0] == '/' && TryParseMinor(devicePath, out minor))
        {
            return true;
        }

        devicePath = null;
        minor = -1;
        return false;
    }
}
