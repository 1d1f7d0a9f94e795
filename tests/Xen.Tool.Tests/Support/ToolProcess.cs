using System.Diagnostics;
using System.Globalization;
using Xen.TestSupport.Peers;

namespace Xen.Tool.Tests.Support;

/// <summary>
/// The built <c>xen</c> tool running as a process, as a user runs it: standard input piped from the test, standard
/// output collected as bytes while it runs, standard error as text. Disposing kills it if it is still running.
/// </summary>
internal sealed class ToolProcess : IAsyncDisposable
{
    public static readonly string XenDll = Path.Combine(AppContext.BaseDirectory, "xen.dll");

    /// <summary>
    /// The native <c>xen</c> the tests run in place of <c>dotnet xen.dll</c> when <c>$XEN_TOOL</c> names one (CI points it at
    /// the NativeAOT build, so that build passes the same tests), else null.
    /// </summary>
    public static string? NativeTool => Environment.GetEnvironmentVariable("XEN_TOOL") is { Length: > 0 } path ? path : null;

    /// <summary>The program and arguments that run <c>xen <paramref name="args"/></c>: the native tool, else <c>dotnet xen.dll</c>.</summary>
    public static (string Program, string[] Arguments) CommandLine(IEnumerable<string> args) =>
        NativeTool is { } native ? (native, [.. args]) : ("dotnet", [XenDll, .. args]);

    private readonly Process _process;
    private readonly MemoryStream _output = new();
    private readonly Task _outputCopy;
    private readonly Task<string> _error;
    private readonly string _commandLine;

    private ToolProcess(Process process, string commandLine)
    {
        _process = process;
        _commandLine = commandLine;
        _outputCopy = Task.Run(CopyOutputAsync);
        _error = process.StandardError.ReadToEndAsync();
    }

    /// <summary>Starts <c>xen <paramref name="args"/></c>.</summary>
    public static ToolProcess Start(params string[] args)
    {
        (string program, string[] arguments) = CommandLine(args);
        ProcessStartInfo startInfo = PeerCommand.StartInfo(program, arguments);
        return new ToolProcess(Process.Start(startInfo)!, "xen " + string.Join(' ', args));
    }

    /// <summary>Runs <c>xen <paramref name="args"/></c> to completion with standard input closed.</summary>
    public static Task<ToolResult> RunAsync(params string[] args)
    {
        (string program, string[] arguments) = CommandLine(args);
        return ToolRun.ProcessAsync(program, arguments);
    }

    /// <summary>The tool's standard input.</summary>
    public Stream Input => _process.StandardInput.BaseStream;

    public int ProcessId => _process.Id;

    /// <summary>Standard output so far.</summary>
    public byte[] OutputSoFar()
    {
        lock (_output)
        {
            return _output.ToArray();
        }
    }

    /// <summary>Waits until standard output holds at least <paramref name="byteCount"/> bytes; returns all of it.</summary>
    public async Task<byte[]> WaitForOutputAsync(int byteCount)
    {
        byte[] seen = [];
        await Deadline.PollAsync(
            () => (seen = OutputSoFar()).Length >= byteCount || _process.HasExited && _outputCopy.IsCompleted,
            () => $"{_commandLine} printed {seen.Length} of {byteCount} bytes");
        Assert.True(seen.Length >= byteCount, $"{_commandLine} exited after printing {seen.Length} of {byteCount} bytes; stderr: {(_error.IsCompleted ? _error.Result : "")}");
        return seen;
    }

    /// <summary>Closes standard input (its end of file).</summary>
    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Sends a signal (<c>TERM</c>, <c>INT</c>).</summary>
    public void Signal(string name) =>
        Process.Start("kill", ["-" + name, _process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();

    /// <summary>Waits for the exit; the status and everything printed.</summary>
    public async Task<ToolResult> WaitForExitAsync()
    {
        await Deadline.RunAsync(token => _process.WaitForExitAsync(token), () => $"{_commandLine} did not exit; stdout so far {OutputSoFar().Length} bytes");
        await _outputCopy;
        return new ToolResult(_process.ExitCode, OutputSoFar(), await _error);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private async Task CopyOutputAsync()
    {
        byte[] buffer = new byte[4096];
        Stream stdout = _process.StandardOutput.BaseStream;
        int n;
        while ((n = await stdout.ReadAsync(buffer)) > 0)
        {
            lock (_output)
            {
                _output.Write(buffer, 0, n);
            }
        }
    }
}
