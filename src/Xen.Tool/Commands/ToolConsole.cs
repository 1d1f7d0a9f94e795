namespace Xen.Tool.Commands;

/// <summary>
/// Where the <c>xen store</c> commands write: standard output as bytes (values may be raw bytes with <c>-R</c>),
/// standard error as text, and the terminal's width when standard output is a terminal (what <c>ls</c> cuts lines
/// to, as xenstore-ls does).
/// </summary>
internal sealed class ToolConsole
{
    public ToolConsole(Stream output, TextWriter error, int? terminalColumns)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        Output = output;
        Error = error;
        TerminalColumns = terminalColumns;
    }

    /// <summary>Standard output.</summary>
    public Stream Output { get; }

    /// <summary>Standard error.</summary>
    public TextWriter Error { get; }

    /// <summary>The terminal's columns when standard output is a terminal; null otherwise.</summary>
    public int? TerminalColumns { get; }

    /// <summary>The process's own standard output and error.</summary>
    public static ToolConsole ForProcess() => new(Console.OpenStandardOutput(), Console.Error, ProcessTerminalColumns());

    private static int? ProcessTerminalColumns()
    {
        if (Console.IsOutputRedirected)
        {
            return null;
        }

        try
        {
            return Console.WindowWidth;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
