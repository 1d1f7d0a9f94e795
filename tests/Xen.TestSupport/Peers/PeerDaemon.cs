using System.Diagnostics;
using System.Text;

namespace Xen.TestSupport.Peers;

/// <summary>
/// A long-running real program started by a test (normally under the shim, see
/// <see cref="XenstoredPeer.StartShimmed"/>): its stdout and stderr are kept for failure messages, and disposing
/// kills it and waits for it to exit.
/// </summary>
public sealed class PeerDaemon : IDisposable
{
    private const int MaxOutputChars = 64 * 1024;
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private bool _disposed;
    private int _streamsOpen = 2; // stdout and stderr, until each reports its end

    private PeerDaemon(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    /// <summary>The program's file name, for messages.</summary>
    public string Name { get; }

    /// <summary>The process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>
    /// Whether the process has exited and everything it wrote has been read: the exit can be seen before the last lines
    /// of its pipes arrive, and a caller that reads <see cref="Output"/> after this must see them all.
    /// </summary>
    public bool HasExited => _process.HasExited && Volatile.Read(ref _streamsOpen) == 0;

    /// <summary>What the program wrote to stdout and stderr so far (the first 64 KiB), with its exit status once it has exited.</summary>
    public string Output
    {
        get
        {
            string text;
            lock (_output)
            {
                text = _output.ToString();
            }

            return HasExited ? $"{text}[{Name} exited with status {_process.ExitCode}]" : text;
        }
    }

    /// <summary>Starts <paramref name="program"/> with the given arguments and extra environment variables.</summary>
    public static PeerDaemon Start(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        ProcessStartInfo startInfo = PeerCommand.StartInfo(program, arguments, environment);
        var process = new Process { StartInfo = startInfo };
        var daemon = new PeerDaemon(process, Path.GetFileName(program));
        process.OutputDataReceived += (_, e) => daemon.Append(e.Data);
        process.ErrorDataReceived += (_, e) => daemon.Append(e.Data);
        try
        {
            process.Start();
        }
        catch
        {
            process.Dispose();
            throw;
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return daemon;
    }

    /// <summary>Kills the program (and anything it started) and waits for it to exit.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.WaitForExit(Deadline.Default);
        }
        catch (InvalidOperationException)
        {
            // It had already exited and been reaped.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            Interlocked.Decrement(ref _streamsOpen); // the end of stdout or of stderr
            return;
        }

        lock (_output)
        {
            if (_output.Length < MaxOutputChars)
            {
                _output.AppendLine(line);
            }
        }
    }
}
