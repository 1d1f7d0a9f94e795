using System.Diagnostics;

namespace Xen.TestSupport.Peers;

/// <summary>The outcome of a finished command.</summary>
/// <param name="ExitCode">The exit status.</param>
/// <param name="StandardOutput">Everything it wrote to stdout.</param>
/// <param name="StandardError">Everything it wrote to stderr.</param>
public sealed record PeerCommandResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>Runs a short-lived program (a CLI, a script) to completion, bounded by <see cref="Deadline.Default"/>.</summary>
public static class PeerCommand
{
    /// <summary>Runs <paramref name="program"/> with <paramref name="arguments"/> and extra environment variables; stdin is empty.</summary>
    /// <exception cref="TimeoutException">It did not finish in time (it is killed).</exception>
    public static async Task<PeerCommandResult> RunAsync(
        string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        ProcessStartInfo startInfo = StartInfo(program, arguments, environment);
        string commandLine = string.Join(' ', [program, .. startInfo.ArgumentList]);
        using Process process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {commandLine}.");
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await Deadline.RunAsync(token => process.WaitForExitAsync(token), () => $"`{commandLine}` did not finish")
                .ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new PeerCommandResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>
    /// How every program of the tests is started: no shell, stdin, stdout and stderr redirected, the arguments as a
    /// list (no quoting), and <paramref name="environment"/> added to this process's environment.
    /// </summary>
    public static ProcessStartInfo StartInfo(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[name] = value;
        }

        return startInfo;
    }

    /// <summary>Runs the command and returns its stdout; a non-zero exit becomes an exception quoting stderr.</summary>
    /// <exception cref="InvalidOperationException">It exited with a non-zero status.</exception>
    /// <exception cref="TimeoutException">It did not finish in time.</exception>
    public static async Task<string> RunCheckedAsync(
        string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        string[] args = [.. arguments];
        PeerCommandResult result = await RunAsync(program, args, environment).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"`{string.Join(' ', [program, .. args])}` exited with {result.ExitCode}: {result.StandardError.Trim()} {result.StandardOutput.Trim()}");
        }

        return result.StandardOutput;
    }
}
