using System.Text;
using Xen.Store.Wire;

namespace Xen.Tool.Commands;

/// <summary>
/// The lines of xenstore-ls: <c>name = "value"</c> indented one space per level (or <c>/full/path = "value"</c> with
/// <c>-f</c>), <c>name:</c> when the value cannot be read, cut to the width, and with <c>-p</c> a dotted leader and the
/// permissions in parentheses.
/// </summary>
/// <remarks>
/// Widths follow xenstore-ls 4.17. The line width is the terminal's columns minus 2 when standard output is a
/// terminal, else 80 (unlimited with <c>-f</c>). Without <c>-f</c> a name is cut to <c>width - 8 - depth</c> characters.
/// A value is cut (and ends in <c>\...</c>) when the line so far, the value's length in bytes and 8 exceed the width;
/// with <c>-f</c> the path does not count towards that. With <c>-p</c> the leader of alternating spaces and dots
/// runs to column 60 (not with <c>-f</c>, not after a cut value). A negative cut length means no cut, as a negative
/// <c>printf</c> precision does.
/// </remarks>
internal readonly record struct StoreLsLayout(int MaxWidth, int DesiredWidth, bool FullPaths)
{
    /// <summary><c>strlen(" = \"...\"")</c>, what xenstore-ls keeps free for the value.</summary>
    public const int TagLength = 8;

    /// <summary>xenstore-ls composes child paths in a buffer of this many bytes (<c>XENSTORE_ABS_PATH_MAX + 1024</c>).</summary>
    public const int PathBufferLength = XsPath.AbsolutePathMax + 1024;

    /// <summary>The layout for <c>-f</c> or not, on a terminal of <paramref name="terminalColumns"/> columns or not on one.</summary>
    public static StoreLsLayout For(bool fullPaths, int? terminalColumns)
    {
        int maxWidth = fullPaths ? int.MaxValue / 2 : 80;
        if (terminalColumns is int columns)
        {
            maxWidth = columns - 2;
        }

        return new StoreLsLayout(maxWidth, fullPaths ? 0 : 60, fullPaths);
    }

    /// <summary>The path of child <paramref name="name"/> of <paramref name="path"/>, as xenstore-ls composes it.</summary>
    public static string ChildPath(string path, string name)
    {
        string child = path.EndsWith('/') ? path + name : path + "/" + name;
        return child.Length < PathBufferLength ? child : child[..(PathBufferLength - 1)];
    }

    /// <summary>
    /// The line of one node up to where the permissions go (no newline): <paramref name="value"/> null prints
    /// <c>:</c>; <paramref name="showPermissions"/> adds the leader.
    /// </summary>
    public string Entry(string fullPath, string name, int depth, ReadOnlySpan<byte> value, bool valueRead, bool showPermissions)
    {
        var line = new StringBuilder();
        int width = 0;
        if (FullPaths)
        {
            line.Append(fullPath);
        }
        else
        {
            line.Append(' ', depth);
            width = depth;
            string shown = Cut(name, MaxWidth - TagLength - width);
            line.Append(shown);
            width += shown.Length;
        }

        if (!valueRead)
        {
            line.Append(':');
            return line.ToString();
        }

        string text = XsValueText.Sanitise(value);
        if (MaxWidth >= 0 && MaxWidth < (long)width + value.Length + TagLength)
        {
            line.Append(" = \"").Append(Cut(text, MaxWidth - TagLength - width)).Append("\\...\"");
            return line.ToString();
        }

        line.Append(" = \"").Append(text).Append('"');
        width += 5 + text.Length;
        if (showPermissions)
        {
            line.Append(' ');
            for (width++; width < Math.Min(DesiredWidth, MaxWidth); width++)
            {
                line.Append((width & 1) != 0 ? '.' : ' ');
            }
        }

        return line.ToString();
    }

    /// <summary>The permissions column: <c>  (b0,r5)</c>.</summary>
    public static string Permissions(IReadOnlyList<XsPermission> permissions) =>
        "  (" + string.Join(',', permissions) + ")";

    private static string Cut(string text, int length) => length < 0 || text.Length <= length ? text : text[..length];
}
