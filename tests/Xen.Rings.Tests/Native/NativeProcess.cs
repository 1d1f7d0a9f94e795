using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Xen.TestSupport.Peers;

namespace Xen.Rings.Tests.Native;

/// <summary>
/// A C program run by a test: standard output arrives line by line, standard error is kept for failure
/// messages, and disposing kills the process if it is still running.
/// </summary>
internal sealed class NativeProcess : IDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = [];
    private readonly StringBuilder _standardError = new();
    private readonly string _name;

    private NativeProcess(Process process, string name)
    {
        _process = process;
        _name = name;
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/> (no shell).</summary>
    public static NativeProcess Start(string fileName, params IEnumerable<string> arguments)
    {
        ProcessStartInfo info = PeerCommand.StartInfo(fileName, arguments);
        var process = new Process { StartInfo = info };
        var native = new NativeProcess(process, $"{Path.GetFileName(fileName)} {string.Join(' ', info.ArgumentList)}");
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                native._lines.CompleteAdding();
            }
            else
            {
                native._lines.Add(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (native._standardError)
                {
                    native._standardError.AppendLine(e.Data);
                }
            }
        };

        try
        {
            process.Start();
            process.StandardInput.Close();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }
        catch
        {
            native.Dispose();
            throw;
        }

        return native;
    }

    /// <summary>Runs a program to completion and returns its exit code and output.</summary>
    public static (int ExitCode, string Output, string Error) Run(string fileName, IEnumerable<string> arguments, TimeSpan timeout)
    {
        using NativeProcess process = Start(fileName, arguments);
        int exitCode = process.WaitForExit(timeout);
        return (exitCode, string.Join('\n', process._lines), process.StandardError);
    }

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>What the process wrote to standard error so far.</summary>
    public string StandardError
    {
        get
        {
            lock (_standardError)
            {
                return _standardError.ToString();
            }
        }
    }

    /// <summary>The next line of standard output.</summary>
    /// <exception cref="InvalidOperationException">The output ended, or no line came within <paramref name="timeout"/>.</exception>
    public string ReadLine(TimeSpan timeout)
    {
        if (_lines.TryTake(out string? line, timeout))
        {
            return line;
        }

        string why = _lines.IsAddingCompleted ? "its output ended" : $"nothing came within {timeout.TotalSeconds:0} s";
        throw new InvalidOperationException($"Expected a line from `{_name}`, but {why}. {Describe()}");
    }

    /// <summary>Waits for the process to end and returns its exit code.</summary>
    /// <exception cref="TimeoutException">The process did not end within <paramref name="timeout"/> (it is killed on dispose).</exception>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            throw new TimeoutException($"`{_name}` did not exit within {timeout.TotalSeconds:0} s. {Describe()}");
        }

        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    /// <summary>The command line, the exit code if the process ended, and its standard error, for failure messages.</summary>
    public string Describe()
    {
        string state = "still running";
        if (_process.HasExited)
        {
            _process.WaitForExit(); // drains the redirected output, so stderr is complete
            state = $"exit code {_process.ExitCode}";
        }

        string error = StandardError.Trim();
        return $"[{_name}: {state}; stderr: {(error.Length == 0 ? "(empty)" : error)}]";
    }

    /// <summary>Kills the process if it is still running.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // never started, or already gone
        }

        _process.Dispose();
        _lines.Dispose();
    }
}
