using System.CommandLine;
using System.Diagnostics;
using System.Text;
using Xen.TestSupport.Peers;
using Xen.Tool.Commands;

namespace Xen.Tool.Tests.Support;

/// <summary>What a command printed and how it exited; standard output kept as bytes.</summary>
public sealed record ToolResult(int ExitCode, byte[] Output, string Error)
{
    public string OutputText => Encoding.UTF8.GetString(Output);

    public override string ToString() => $"exit {ExitCode}; stdout:\n{OutputText}\nstderr:\n{Error}";
}

/// <summary>
/// Runs <c>xen store ...</c> in-process through the System.CommandLine root (or, when <see cref="ToolProcess.NativeTool"/>
/// is set, as that native program), and the real xenstore-* programs.
/// </summary>
public static class ToolRun
{
    /// <summary><c>xen store</c> with <paramref name="args"/>; <paramref name="terminalColumns"/> stands for a terminal on standard output.</summary>
    public static Task<ToolResult> StoreAsync(IEnumerable<string> args, int? terminalColumns = null, Stream? output = null, CancellationToken cancellationToken = default) =>
        InvokeAsync(["store", .. args], terminalColumns, output, cancellationToken);

    public static async Task<ToolResult> InvokeAsync(string[] args, int? terminalColumns = null, Stream? output = null, CancellationToken cancellationToken = default)
    {
        if (ToolProcess.NativeTool is { } native && terminalColumns is null)
        {
            return await ProcessAsync(native, args, null, output, cancellationToken); // a terminal's width only exists in-process
        }

        var stdout = output ?? new MemoryStream();
        var stderr = new StringWriter();
        var root = new RootCommand();
        root.Subcommands.Add(StoreCommands.Create(new ToolConsole(stdout, stderr, terminalColumns)));
        ParseResult parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        int exit = await parse.InvokeAsync(new InvocationConfiguration { Output = stderr, Error = stderr }, cancellationToken);
        return new ToolResult(exit, stdout is MemoryStream m ? m.ToArray() : [], stderr.ToString());
    }

    /// <summary>The real <c>/usr/bin/xenstore-&lt;command&gt;</c> against <paramref name="store"/>.</summary>
    public static async Task<ToolResult> RealAsync(XenstoredPeer store, string command, IEnumerable<string> args)
    {
        string program = "/usr/bin/xenstore-" + command;
        PeerPrograms.Require(false, program);
        return await ProcessAsync(program, args, store.ClientEnvironment);
    }

    /// <summary>
    /// Runs a program to completion with stdout captured as bytes, or copied into <paramref name="output"/> as it comes
    /// (the result's <see cref="ToolResult.Output"/> then holds it only if that is a <see cref="MemoryStream"/>, as
    /// <see cref="InvokeAsync"/> does); cancelling kills it.
    /// </summary>
    public static async Task<ToolResult> ProcessAsync(
        string program, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, Stream? output = null, CancellationToken cancellationToken = default)
    {
        ProcessStartInfo startInfo = PeerCommand.StartInfo(program, args, environment);
        using Process process = Process.Start(startInfo)!;
        process.StandardInput.Close();
        Stream stdout = output ?? new MemoryStream();
        Task copy = process.StandardOutput.BaseStream.CopyToAsync(stdout, 4096, CancellationToken.None);
        Task<string> stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await Deadline.RunAsync(token => process.WaitForExitAsync(token), () => $"{program} {string.Join(' ', args)} did not finish")
                .WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        await copy;
        return new ToolResult(process.ExitCode, stdout is MemoryStream m ? m.ToArray() : [], await stderr);
    }
}
