using System.Runtime.CompilerServices;
using System.Diagnostics.CodeAnalysis;

namespace Xen.Store.Wire;

/// <summary>
/// Xenstore path rules, as the daemons apply them: characters <c>[A-Za-z0-9-/_@]</c>; not empty; no <c>//</c>;
/// no trailing <c>/</c> except the root <c>/</c>; at most 3072 bytes absolute and 2048 relative. A path without a
/// leading <c>/</c> is relative to the connection's <c>/local/domain/&lt;domid&gt;</c>. The special watch paths
/// <c>@introduceDomain</c> and <c>@releaseDomain</c> (and, with WATCHDEPTH, each followed by <c>/&lt;domid&gt;</c>) are valid
/// only where <c>allowSpecial</c> says so (WATCH and UNWATCH).
/// </summary>
public static class XsPath
{
    /// <summary><c>XENSTORE_ABS_PATH_MAX</c>.</summary>
    public const int AbsolutePathMax = 3072;

    /// <summary><c>XENSTORE_REL_PATH_MAX</c>.</summary>
    public const int RelativePathMax = 2048;

    /// <summary>The special watch path fired when a domain is introduced.</summary>
    public const string IntroduceDomain = "@introduceDomain";

    /// <summary>The special watch path fired when a domain is released or dies.</summary>
    public const string ReleaseDomain = "@releaseDomain";

    /// <summary>Whether <paramref name="path"/> is valid; <paramref name="reason"/> says why not.</summary>
    public static bool IsValid(string? path, bool allowSpecial, [NotNullWhen(false)] out string? reason)
    {
        if (string.IsNullOrEmpty(path))
        {
            reason = "a xenstore path may not be empty";
            return false;
        }

        if (path[0] == '@')
        {
            if (allowSpecial && IsSpecial(path))
            {
                reason = null;
                return true;
            }

            reason = allowSpecial
                ? $"'{Shorten(path)}' is not a special path (@introduceDomain, @releaseDomain, either followed by /<domid>)"
                : $"'{Shorten(path)}': special @ paths are only for watches";
            return false;
        }

        bool absolute = path[0] == '/';
        int max = absolute ? AbsolutePathMax : RelativePathMax;
        if (path.Length > max)
        {
            reason = $"a {(absolute ? "absolute" : "relative")} xenstore path may be at most {max} bytes; this one has {path.Length}";
            return false;
        }

        foreach (char c in path)
        {
            if (!IsPathChar(c))
            {
                reason = $"'{Shorten(path)}' contains '{(c < 32 || c > 126 ? $"\\u{(int)c:x4}" : c.ToString())}', outside [A-Za-z0-9-/_@]";
                return false;
            }
        }

        if (path.Contains("//", StringComparison.Ordinal))
        {
            reason = $"'{Shorten(path)}' contains '//'";
            return false;
        }

        if (path.Length > 1 && path[^1] == '/')
        {
            reason = $"'{Shorten(path)}' ends with '/'";
            return false;
        }

        reason = null;
        return true;
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="path"/> is valid.</summary>
    /// <exception cref="ArgumentException">The path breaks a rule (the message says which).</exception>
    public static void Validate(string? path, bool allowSpecial = false, [CallerArgumentExpression(nameof(path))] string? paramName = null)
    {
        if (!IsValid(path, allowSpecial, out string? reason))
        {
            throw new ArgumentException(reason, paramName);
        }
    }

    /// <summary>Whether <paramref name="path"/> is one of the special watch paths.</summary>
    public static bool IsSpecial(string path) =>
        path == IntroduceDomain || path == ReleaseDomain || IsPerDomain(path, IntroduceDomain) || IsPerDomain(path, ReleaseDomain);

    private static bool IsPerDomain(string path, string special) =>
        path.Length > special.Length + 1 && path.StartsWith(special, StringComparison.Ordinal) && path[special.Length] == '/' &&
        IsDomainId(path.AsSpan(special.Length + 1));

    /// <summary>The home of domain <paramref name="domainId"/>: <c>/local/domain/&lt;domid&gt;</c>, what relative paths are relative to.</summary>
    public static string DomainPath(uint domainId) => $"/local/domain/{domainId}";

    /// <summary>Resolves <paramref name="path"/> for a connection of domain <paramref name="domainId"/>: absolute and special paths unchanged, relative ones under the domain's home.</summary>
    public static string Resolve(string path, uint domainId) =>
        path.Length == 0 || path[0] == '/' || path[0] == '@' ? path : $"{DomainPath(domainId)}/{path}";

    /// <summary>The parent of an absolute path (<c>/</c> for a top-level node, null for <c>/</c>).</summary>
    public static string? Parent(string absolutePath)
    {
        if (absolutePath == "/")
        {
            return null;
        }

        int slash = absolutePath.LastIndexOf('/');
        return slash <= 0 ? "/" : absolutePath[..slash];
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="ancestor"/> or lies below it.</summary>
    public static bool IsAtOrBelow(string path, string ancestor) =>
        path == ancestor ||
        ancestor == "/" && path.StartsWith('/') ||
        (path.Length > ancestor.Length && path[ancestor.Length] == '/' && path.StartsWith(ancestor, StringComparison.Ordinal));

    private static bool IsPathChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '/' or '_' or '@';

    private static bool IsDomainId(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty || s.Length > 5)
        {
            return false;
        }

        foreach (char c in s)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) <= ushort.MaxValue;
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : string.Concat(s.AsSpan(0, 77), "...");
}
