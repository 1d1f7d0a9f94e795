using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Vchan;

/// <summary>
/// One end of a vchan as a process of its own, playing domain <c>XENSHIM_DOMID</c> under the shim of a
/// <see cref="XenstoredPeer"/>'s directory, the way two domains' programs run there: our <c>xen vchan serve|connect</c>,
/// Xen's <c>vchan-socket-proxy ... -</c>, or <c>vchan_peer</c> (libxenvchan itself). Its standard input and output are
/// the raw byte pipes the vchan is copied to and from; standard error is kept for failure messages.
/// </summary>
internal sealed class VchanProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _errors = new();
    private readonly Task _errorPump;

    private VchanProcess(Process process, string name)
    {
        _process = process;
        Name = name;
        _errorPump = Task.Run(async () =>
        {
            string? line;
            while ((line = await process.StandardError.ReadLineAsync().ConfigureAwait(false)) is not null)
            {
                lock (_errors)
                {
                    _errors.AppendLine(line);
                }
            }
        });
    }

    public string Name { get; }

    public int ProcessId => _process.Id;

    /// <summary>What goes into the vchan.</summary>
    public Stream Input => _process.StandardInput.BaseStream;

    /// <summary>What came out of the vchan.</summary>
    public Stream Output => _process.StandardOutput.BaseStream;

    public bool HasExited => _process.HasExited;

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return $"{Name} (pid {_process.Id}) stderr: {_errors}";
            }
        }
    }

    /// <summary>Our tool: <c>dotnet xen.dll vchan ARGS</c>.</summary>
    public static VchanProcess Ours(XenstoredPeer xenstore, uint domainId, params string[] arguments) =>
        Start(xenstore, domainId, "dotnet", [PeerPrograms.XenTool, "vchan", .. arguments], "xen vchan " + arguments[0]);

    /// <summary>Xen's <c>vchan-socket-proxy -m ROLE PEER PATH -</c> (Debian's libxenvchan).</summary>
    public static VchanProcess Proxy(XenstoredPeer xenstore, uint domainId, string role, uint peerDomainId, string path) =>
        Start(xenstore, domainId, VchanPrograms.SocketProxy, ["-m", role, Number(peerDomainId), path, "-"], "vchan-socket-proxy -m " + role);

    /// <summary><c>vchan_peer ROLE PEER PATH READ_MIN WRITE_MIN MODE [ARG]</c>: libxenvchan called directly.</summary>
    public static async Task<VchanProcess> NativeAsync(XenstoredPeer xenstore, uint domainId, string role, uint peerDomainId, string path, int readMin, int writeMin, params string[] mode) =>
        Start(xenstore, domainId, await VchanPrograms.NativePeerAsync(), [role, Number(peerDomainId), path, Number(readMin), Number(writeMin), .. mode], "vchan_peer " + role);

    /// <summary>Writes all of <paramref name="data"/> and flushes, bounded by the deadline.</summary>
    public Task WriteAsync(ReadOnlyMemory<byte> data) =>
        Deadline.RunAsync(async token =>
        {
            await Input.WriteAsync(data, token);
            await Input.FlushAsync(token);
        }, () => $"{Name} did not take {data.Length} bytes on its standard input; {Errors}");

    /// <summary>Reads exactly <paramref name="count"/> bytes of output, bounded by the deadline.</summary>
    public Task<byte[]> ReadExactlyAsync(int count) =>
        Deadline.RunAsync(async token =>
        {
            byte[] data = new byte[count];
            await Output.ReadExactlyAsync(data, token);
            return data;
        }, () => $"{Name} did not write {count} bytes; {Errors}");

    /// <summary>Reads the output until the process closes it (its end of the session), bounded by the deadline.</summary>
    public Task<byte[]> ReadToEndAsync() =>
        Deadline.RunAsync(async token =>
        {
            using var all = new MemoryStream();
            await Output.CopyToAsync(all, token);
            return all.ToArray();
        }, () => $"{Name} did not close its standard output; {Errors}");

    /// <summary>Closes its standard input (the end of what goes into the vchan).</summary>
    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Waits for it to exit and returns its status, bounded by the deadline.</summary>
    public async Task<int> WaitForExitAsync()
    {
        await Deadline.RunAsync(token => _process.WaitForExitAsync(token), () => $"{Name} did not exit; {Errors}");
        await _errorPump;
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no clean-up of its own; what Xen (here the shim's reaper) does on a crash still happens.</summary>
    public void KillHard() => _process.Kill();

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(Deadline.Default);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    private static VchanProcess Start(XenstoredPeer xenstore, uint domainId, string program, IEnumerable<string> arguments, string name)
    {
        var environment = new Dictionary<string, string>(xenstore.ClientEnvironment)
        {
            ["LD_PRELOAD"] = xenstore.ShimLibraryPath,
            ["XENSHIM_DIR"] = xenstore.StateDirectory,
            ["XENSHIM_DOMID"] = Number(domainId),
        };
        ProcessStartInfo start = PeerCommand.StartInfo(program, arguments, environment);
        Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}");
        return new VchanProcess(process, $"{name} (domain {domainId})");
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
