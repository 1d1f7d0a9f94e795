using System.Diagnostics.CodeAnalysis;

namespace Xen.Blktap.Model;

/// <summary>
/// A disk specification as toolstacks write it (the <c>uname</c> of a disk): <c>phy:/dev/vg/disk</c>,
/// <c>file:/images/a.img</c>, <c>tap:aio:/images/a.img</c>, <c>tap:vhd:/images/a.vhd</c>, <c>tap2:qcow:/a.qcow</c>.
/// </summary>
/// <remarks>
/// Parsing checks the shape only: a known prefix, a driver for <c>tap</c>/<c>tap2</c>, a non-empty path with no
/// control characters. Whether the driver is one blktap knows is a configuration rule
/// (<see cref="TapDrivers.IsKnown"/>, checked by <see cref="DomainDiskConfiguration"/>), so that a toolstack can
/// report it with the list of allowed drivers. The file part is everything after the driver's colon, so paths
/// holding <c>:</c> survive.
/// </remarks>
public sealed record DiskSpec
{
    private DiskSpec(DiskKind kind, string? driver, string path)
    {
        Kind = kind;
        Driver = driver;
        Path = path;
    }

    /// <summary>The prefix.</summary>
    public DiskKind Kind { get; }

    /// <summary>The tap driver (<c>aio</c>, <c>vhd</c>, ...) for <c>tap</c>/<c>tap2</c>; null otherwise.</summary>
    public string? Driver { get; }

    /// <summary>The backing device or file: what two disks of one domain may not share.</summary>
    public string Path { get; }

    /// <summary>Whether the disk is served by a tapdisk (<c>tap:</c> or <c>tap2:</c>).</summary>
    public bool IsTap => Kind is DiskKind.Tap or DiskKind.Tap2;

    /// <summary>The text a tapdisk is started with: <c>&lt;driver&gt;:&lt;file&gt;</c> (tap specs only).</summary>
    /// <exception cref="InvalidOperationException">The spec is not a tap spec.</exception>
    public string TapArguments => IsTap ? $"{Driver}:{Path}" : throw new InvalidOperationException($"'{this}' is not a tap disk.");

    /// <summary>Creates a tap spec from its parts.</summary>
    /// <exception cref="ArgumentException">The driver or path is empty or malformed.</exception>
    public static DiskSpec Tap(string driver, string path, DiskKind kind = DiskKind.Tap)
    {
        if (kind is not (DiskKind.Tap or DiskKind.Tap2))
        {
            throw new ArgumentException("A tap spec's kind is Tap or Tap2.", nameof(kind));
        }

        return TryParse($"{(kind == DiskKind.Tap ? "tap" : "tap2")}:{driver}:{path}", out DiskSpec? spec, out string? error)
            ? spec
            : throw new ArgumentException(error);
    }

    /// <summary>Parses a disk specification.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="FormatException">The text is not a disk specification; the message says what is wrong.</exception>
    public static DiskSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out DiskSpec? spec, out string? error) ? spec : throw new FormatException(error);
    }

    /// <summary>Parses a disk specification; <paramref name="error"/> says what is wrong when it is not one.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out DiskSpec? spec, [NotNullWhen(false)] out string? error)
    {
        spec = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "A disk specification may not be empty (expected phy:<device>, file:<path>, tap:<driver>:<path> or tap2:<driver>:<path>).";
            return false;
        }

        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            error = $"Disk specification '{text}' has no prefix (expected phy:, file:, tap: or tap2:).";
            return false;
        }

        string prefix = text[..colon];
        string rest = text[(colon + 1)..];
        DiskKind kind;
        switch (prefix)
        {
            case "phy": kind = DiskKind.Phy; break;
            case "file": kind = DiskKind.File; break;
            case "tap": kind = DiskKind.Tap; break;
            case "tap2": kind = DiskKind.Tap2; break;
            default:
                error = $"Disk specification '{text}' has an unknown prefix '{prefix}:' (expected phy:, file:, tap: or tap2:).";
                return false;
        }

        string? driver = null;
        if (kind is DiskKind.Tap or DiskKind.Tap2)
        {
            int driverEnd = rest.IndexOf(':', StringComparison.Ordinal);
            if (driverEnd < 0)
            {
                error = $"Disk specification '{text}' names no tap driver (expected {prefix}:<driver>:<path>, e.g. {prefix}:aio:/images/disk.img).";
                return false;
            }

            driver = rest[..driverEnd];
            rest = rest[(driverEnd + 1)..];
            if (driver.Length == 0 || !driver.All(static c => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-'))
            {
                error = $"Disk specification '{text}' has a malformed tap driver '{driver}' (letters, digits, '-' and '_' only).";
                return false;
            }
        }

        if (rest.Length == 0)
        {
            error = $"Disk specification '{text}' has an empty path.";
            return false;
        }

        if (rest.Any(char.IsControl))
        {
            error = $"Disk specification '{text.ReplaceLineEndings(" ")}' has a control character in its path.";
            return false;
        }

        spec = new DiskSpec(kind, driver, rest);
        error = null;
        return true;
    }

    /// <summary>The specification as a toolstack writes it (it parses back to an equal value).</summary>
    public override string ToString() => Kind switch
    {
        DiskKind.Phy => $"phy:{Path}",
        DiskKind.File => $"file:{Path}",
        DiskKind.Tap => $"tap:{Driver}:{Path}",
        _ => $"tap2:{Driver}:{Path}",
    };
}
