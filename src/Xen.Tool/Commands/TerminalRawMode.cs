using System.ComponentModel;
using System.Diagnostics;

namespace Xen.Tool.Commands;

/// <summary>
/// Puts the terminal on standard input into raw mode (<c>stty raw -echo</c>) for the life of the object and puts
/// the saved settings back on dispose, as xenconsole does with <c>cfmakeraw</c>: every key, Ctrl-C included, goes to
/// the guest unchanged, and the guest's own echo is the only one. Done with <c>stty</c> so no terminal ABI is
/// hard-coded here.
/// </summary>
internal sealed class TerminalRawMode : IDisposable
{
    private readonly string _saved;

    private TerminalRawMode(string saved) => _saved = saved;

    /// <summary>Raw mode, or null when <c>stty</c> is missing or refuses (the session then runs in the terminal's current mode).</summary>
    public static TerminalRawMode? TryEnter()
    {
        string? saved = Stty(["-g"], captureOutput: true);
        if (string.IsNullOrWhiteSpace(saved) || Stty(["raw", "-echo"], captureOutput: false) is null)
        {
            return null;
        }

        return new TerminalRawMode(saved.Trim());
    }

    public void Dispose() => Stty([_saved], captureOutput: false);

    /// <summary>Runs stty on the inherited standard input; its output, or null when it could not run or failed.</summary>
    private static string? Stty(string[] arguments, bool captureOutput)
    {
        var startInfo = new ProcessStartInfo("stty") { UseShellExecute = false, RedirectStandardOutput = captureOutput, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        try
        {
            using Process process = Process.Start(startInfo)!;
            string output = captureOutput ? process.StandardOutput.ReadToEnd() : string.Empty;
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : null;
        }
        catch (Win32Exception)
        {
            return null;
        }
    }
}
