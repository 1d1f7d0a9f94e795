using System.ComponentModel;
using System.Diagnostics;

namespace Xen.Blktap.Host;

/// <summary>Runs a helper program to completion and collects its output; cancellation kills it.</summary>
internal static class ProcessRunner
{
    internal readonly record struct Result(int ExitCode, string StandardOutput, string StandardError)
    {
        public string Describe() => $"exit code {ExitCode}{Quote("stdout", StandardOutput)}{Quote("stderr", StandardError)}";

        private static string Quote(string name, string text) =>
            string.IsNullOrWhiteSpace(text) ? string.Empty : $"; {name}: {text.Trim()}";
    }

    public static async ValueTask<Result> RunAsync(string program, TapOperation operation, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        if (!File.Exists(program))
        {
            throw new TapBackendException(operation, $"{Path.GetFileName(program)} was not found at {program}.");
        }

        var startInfo = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new TapBackendException(operation, $"Could not start {program}.");
        }
        catch (Win32Exception e)
        {
            throw new TapBackendException(operation, $"Could not start {program}: {e.Message}", null, e);
        }

        using (process)
        {
            process.StandardInput.Close();
            Task<string> stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            Task<string> stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // It exited meanwhile.
                }

                throw;
            }

            return new Result(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
    }
}
