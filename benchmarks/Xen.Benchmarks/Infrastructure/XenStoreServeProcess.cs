using System.Diagnostics;
using System.Text;

namespace Xen.Benchmarks.Infrastructure;

/// <summary>
/// One <c>xen store serve --no-fork -D --socket SOCK ...</c> process (the JIT <c>dotnet xen.dll</c> of this build, or a
/// native <c>xen</c>), started and timed to its ready line (<c>xenstored listening on SOCK</c> on stdout), with what it
/// wrote to stderr kept. Disposing it kills it with SIGKILL, as a crash would.
/// </summary>
internal sealed class XenStoreServeProcess : IDisposable
{
    private const string ReadyPrefix = "xenstored listening on ";

    private readonly Process _process;
    private readonly StringBuilder _errors = new();

    private XenStoreServeProcess(Process process, string socket)
    {
        _process = process;
        SocketPath = socket;
    }

    /// <summary>The server's pid.</summary>
    public int Pid => _process.Id;

    /// <summary>The Unix socket it listens on.</summary>
    public string SocketPath { get; }

    /// <summary>From just before the process was started to its ready line.</summary>
    public TimeSpan TimeToReady { get; private set; }

    /// <summary>Everything it has written to stderr so far.</summary>
    public string StandardError
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    /// <summary>
    /// Starts the server on <paramref name="socket"/> with <paramref name="options"/> after the fixed ones and waits (up to
    /// 60 s) for its ready line. <paramref name="nativeXen"/> null runs this build's <c>xen.dll</c> under <c>dotnet</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">It exited, or did not become ready in time (then it is killed); the message quotes its stderr.</exception>
    public static async Task<XenStoreServeProcess> StartAsync(string? nativeXen, string socket, IEnumerable<string> options)
    {
        var start = new ProcessStartInfo(nativeXen ?? XenStoreDaemons.DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (nativeXen is null)
        {
            start.ArgumentList.Add(XenStoreDaemons.FindAssembly("xen.dll"));
        }

        string[] arguments = ["store", "serve", "--no-fork", "-D", "--socket", socket, .. options];
        foreach (string arg in arguments)
        {
            start.ArgumentList.Add(arg);
        }

        long started = Stopwatch.GetTimestamp();
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var serve = new XenStoreServeProcess(process, socket);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (serve._errors)
                {
                    serve._errors.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (true)
            {
                string? line = await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false);
                if (line is null)
                {
                    await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                    throw new InvalidOperationException($"xen store serve exited ({process.ExitCode}) before it was ready: {serve.StandardError}");
                }

                if (line.StartsWith(ReadyPrefix, StringComparison.Ordinal))
                {
                    serve.TimeToReady = Stopwatch.GetElapsedTime(started);
                    break;
                }
            }
        }
        catch (Exception e) when (e is not InvalidOperationException)
        {
            serve.Dispose();
            throw new InvalidOperationException($"xen store serve did not print its ready line: {e.Message}; stderr: {serve.StandardError}", e);
        }
        catch
        {
            serve.Dispose();
            throw;
        }

        // Nothing more comes on stdout; drain it all the same, so a write can never block on a full pipe.
        _ = process.StandardOutput.ReadToEndAsync();
        return serve;
    }

    /// <summary>Waits up to <paramref name="timeout"/> for a line of stderr containing <paramref name="text"/>; the line, or null.</summary>
    public async Task<string?> WaitForErrorLineAsync(string text, TimeSpan timeout)
    {
        long until = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            string? line = StandardError.Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (line is not null || Stopwatch.GetTimestamp() > until)
            {
                return line?.TrimEnd('\r');
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>Kills the server with SIGKILL (nothing flushed, nothing closed) and waits for it to be gone.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(); // SIGKILL on Linux
            }

            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // never started, or already reaped
        }

        _process.Dispose();
    }
}
