using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Xen.Blktap.Model;

/// <summary>
/// Virtual device names (<c>xvda</c>, <c>hdb1</c>, <c>sdc</c>, <c>d5p2</c>) and the device numbers Xen derives
/// from them: the number is the device id in xenstore paths and the frontend's <c>virtual-device</c>.
/// </summary>
/// <remarks>
/// <para>
/// The scheme (Xen's <c>docs/misc/vbd-interface.txt</c>): a name is a prefix, the disk as bijective base-26
/// letters (<c>a</c> = 0, <c>z</c> = 25, <c>aa</c> = 26) and an optional decimal partition (none = 0, the whole
/// disk; no leading zeros).
/// </para>
/// <list type="bullet">
/// <item><c>xvd</c>, disks 0-15 and partitions 0-15: <c>(202 &lt;&lt; 8) | (disk &lt;&lt; 4) | partition</c>; <c>xvda</c> = 51712.</item>
/// <item><c>xvd</c> beyond that (disks up to 2^20 - 1, partitions up to 255): the extended scheme <c>(1 &lt;&lt; 28) | (disk &lt;&lt; 8) | partition</c>.</item>
/// <item><c>hd</c>, disks 0-3, partitions 0-63: major 3 for disks 0-1 and 22 for disks 2-3, minor
/// <c>((disk &amp; 1) &lt;&lt; 6) | partition</c>.</item>
/// <item><c>sd</c>, disks 0-15, partitions 0-15: <c>(8 &lt;&lt; 8) | (disk &lt;&lt; 4) | partition</c>.</item>
/// <item><c>d&lt;disk&gt;p&lt;partition&gt;</c> (decimal disk and partition) numbers the same disk as <c>xvd</c> does.</item>
/// <item>A plain decimal number is taken as the device number itself.</item>
/// </list>
/// </remarks>
public static class VirtualDevice
{
    /// <summary>The major number of Xen virtual disks.</summary>
    public const int XvdMajor = 202;

    /// <summary>The flag bit of the extended scheme.</summary>
    public const int ExtendedFlag = 1 << 28;

    /// <summary>The largest disk index the extended scheme holds.</summary>
    public const int ExtendedDiskMax = (1 << 20) - 1;

    /// <summary>Parses a virtual device name (or decimal device number) into its device number.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="FormatException">It is not a virtual device name Xen accepts; the message says why.</exception>
    public static int ToNumber(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return TryToNumber(name, out int number, out string? error) ? number : throw new FormatException(error);
    }

    /// <summary>Parses a virtual device name (or decimal device number); <paramref name="error"/> says why it is not one.</summary>
    public static bool TryToNumber(string? name, out int number, [NotNullWhen(false)] out string? error)
    {
        number = -1;
        if (string.IsNullOrEmpty(name))
        {
            error = "A virtual device name may not be empty.";
            return false;
        }

        if (char.IsAsciiDigit(name[0]))
        {
            if (name.All(char.IsAsciiDigit) && (name.Length == 1 || name[0] != '0')
                && int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out number) && number > 0)
            {
                error = null;
                return true;
            }

            error = $"Virtual device '{name}' is not a device number (a positive decimal without leading zeros).";
            number = -1;
            return false;
        }

        if (name.StartsWith("xvd", StringComparison.Ordinal))
        {
            if (!TrySplit(name, 3, ExtendedDiskMax, 255, out int disk, out int partition, out error))
            {
                return false;
            }

            number = disk <= 15 && partition <= 15 ? (XvdMajor << 8) | (disk << 4) | partition : ExtendedFlag | (disk << 8) | partition;
            return true;
        }

        if (name.StartsWith("hd", StringComparison.Ordinal))
        {
            if (!TrySplit(name, 2, 3, 63, out int disk, out int partition, out error))
            {
                return false;
            }

            number = ((disk < 2 ? 3 : 22) << 8) | ((disk & 1) << 6) | partition;
            return true;
        }

        if (name.StartsWith("sd", StringComparison.Ordinal))
        {
            if (!TrySplit(name, 2, 15, 15, out int disk, out int partition, out error))
            {
                return false;
            }

            number = (8 << 8) | (disk << 4) | partition;
            return true;
        }

        if (name[0] == 'd')
        {
            int p = name.IndexOf('p', StringComparison.Ordinal);
            if (p > 1 && TryDecimal(name.AsSpan(1, p - 1), ExtendedDiskMax, allowZero: true, out int disk)
                && TryDecimal(name.AsSpan(p + 1), 255, allowZero: true, out int partition))
            {
                number = disk <= 15 && partition <= 15 ? (XvdMajor << 8) | (disk << 4) | partition : ExtendedFlag | (disk << 8) | partition;
                error = null;
                return true;
            }

            error = $"Virtual device '{name}' is not d<disk>p<partition> (disk 0-{ExtendedDiskMax}, partition 0-255, decimal).";
            return false;
        }

        error = $"Virtual device '{name}' has an unknown prefix (expected xvd, hd, sd, d<disk>p<partition> or a device number).";
        return false;
    }

    /// <summary>
    /// The canonical name of a device number (<c>51712</c> -> <c>xvda</c>), or null when the number is not one of
    /// the schemes above.
    /// </summary>
    public static string? ToName(int number)
    {
        if (number <= 0)
        {
            return null;
        }

        if ((number & ~((ExtendedFlag << 1) - 1)) == 0 && (number & ExtendedFlag) != 0)
        {
            return Format("xvd", (number >> 8) & ExtendedDiskMax, number & 0xFF);
        }

        if (number > 0xFFFF)
        {
            return null;
        }

        int major = number >> 8;
        int minor = number & 0xFF;
        return major switch
        {
            XvdMajor => Format("xvd", minor >> 4, minor & 15),
            3 when minor < 128 => Format("hd", minor >> 6, minor & 63),
            22 when minor < 128 => Format("hd", 2 + (minor >> 6), minor & 63),
            8 => Format("sd", minor >> 4, minor & 15),
            _ => null,
        };
    }

    /// <summary>The disk letters of a disk index: 0 -> <c>a</c>, 25 -> <c>z</c>, 26 -> <c>aa</c>.</summary>
    public static string DiskLetters(int disk)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(disk);
        var letters = new StringBuilder();
        int n = disk + 1;
        while (n > 0)
        {
            n--;
            letters.Insert(0, (char)('a' + (n % 26)));
            n /= 26;
        }

        return letters.ToString();
    }

    private static string Format(string prefix, int disk, int partition) =>
        partition == 0 ? prefix + DiskLetters(disk) : string.Create(CultureInfo.InvariantCulture, $"{prefix}{DiskLetters(disk)}{partition}");

    private static bool TrySplit(string name, int prefixLength, int diskMax, int partitionMax, out int disk, out int partition, [NotNullWhen(false)] out string? error)
    {
        disk = -1;
        partition = 0;
        string prefix = name[..prefixLength];
        int i = prefixLength;
        long value = 0;
        while (i < name.Length && char.IsAsciiLetterLower(name[i]))
        {
            value = (value * 26) + (name[i] - 'a' + 1);
            if (value - 1 > diskMax)
            {
                error = $"Virtual device '{name}': disk beyond the largest {prefix} disk ({prefix}{DiskLetters(diskMax)}).";
                return false;
            }

            i++;
        }

        if (i == prefixLength)
        {
            error = $"Virtual device '{name}' names no disk (expected {prefix}<letters>[<partition>], e.g. {prefix}a or {prefix}b1).";
            return false;
        }

        disk = (int)value - 1;
        if (i < name.Length && !TryDecimal(name.AsSpan(i), partitionMax, allowZero: false, out partition))
        {
            error = $"Virtual device '{name}' has a bad partition '{name[i..]}' (1-{partitionMax}, decimal, no leading zeros).";
            return false;
        }

        error = null;
        return true;
    }

    private static bool TryDecimal(ReadOnlySpan<char> text, int max, bool allowZero, out int value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 9 || (text[0] == '0' && (text.Length > 1 || !allowZero)))
        {
            return false;
        }

        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return value <= max;
    }
}
