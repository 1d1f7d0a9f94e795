using System.Diagnostics;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Host;

/// <summary>
/// <c>Xen.HostProbe</c> (Xen.Rings' host bindings driven line by line) as a process of its own, started the way a Xen
/// daemon is started under the stand-in hypervisor: <c>XENSHIM_DIR</c>, <c>LD_PRELOAD</c> of the shim, and
/// <c>XENSHIM_DOMID</c> for the domain it plays. With <c>preload: false</c> it runs on Xen's real libraries alone.
/// </summary>
internal sealed class HostProbe : IDisposable
{
    private readonly Process _process;

    private HostProbe(Process process) => _process = process;

    public static HostProbe Start(ShimDirectory shim, uint domainId = 0, bool preload = true) =>
        Start(shim.Path, preload ? shim.LibraryPath : null, domainId);

    /// <summary>Starts it in a real xenstored's shim directory (the stand-in hypervisor the daemon and its clients share).</summary>
    public static HostProbe Start(XenstoredPeer xenstore, uint domainId) => Start(xenstore.StateDirectory, xenstore.ShimLibraryPath, domainId);

    private static HostProbe Start(string shimDirectory, string? shimLibrary, uint domainId)
    {
        var environment = new Dictionary<string, string> { ["XENSHIM_DIR"] = shimDirectory, ["XENSHIM_DOMID"] = domainId.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (shimLibrary is not null)
        {
            environment["LD_PRELOAD"] = shimLibrary;
        }

        ProcessStartInfo start = PeerCommand.StartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Xen.HostProbe.dll")], environment);
        start.RedirectStandardError = false; // the libraries' own log lines go to the test's stderr, not into the answers
        return new HostProbe(Process.Start(start) ?? throw new InvalidOperationException("could not start Xen.HostProbe"));
    }

    /// <summary>Sends one command and returns its answer line (<c>ok ...</c> or <c>error ...</c>).</summary>
    public async Task<string> SendAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        string? answer = await Deadline.RunAsync(token => _process.StandardOutput.ReadLineAsync(token).AsTask(), () => $"no answer to '{command}'");
        return answer ?? throw new InvalidOperationException($"Xen.HostProbe exited (status {(_process.HasExited ? _process.ExitCode : -1)}) before answering '{command}'");
    }

    /// <summary>Sends a command that must succeed and returns the words after <c>ok</c>.</summary>
    public async Task<string[]> OkAsync(string command)
    {
        string answer = await SendAsync(command);
        Assert.True(answer.StartsWith("ok", StringComparison.Ordinal), $"'{command}' answered: {answer}");
        return answer.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
    }

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
        }

        _process.Dispose();
    }
}
