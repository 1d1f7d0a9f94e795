using System.Diagnostics;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Server;

namespace Xen.Benchmarks.Infrastructure;

/// <summary>
/// Our <see cref="XenStoreServer"/> alone in a process of its own, as the real daemons run: the benchmark program
/// re-launched in <see cref="ServeCommand"/> mode.
/// </summary>
internal static class OurDaemon
{
    /// <summary>The mode in which the program hosts our server on a socket until killed.</summary>
    public const string ServeCommand = "store-serve";

    private const string ProgramFile = "Xen.Benchmarks.dll";

    /// <summary>Hosts our server (default options) on <paramref name="socket"/> until the process is killed.</summary>
    public static async Task<int> ServeAsync(string socket)
    {
        await using XenStoreServer server = await XenStoreServer.StartAsync().ConfigureAwait(false);
        await server.ListenUnixAsync(socket).ConfigureAwait(false);
        await Task.Delay(Timeout.Infinite).ConfigureAwait(false);
        return 0;
    }

    /// <summary>Starts the server's process on <paramref name="socket"/> and returns once a client can connect.</summary>
    public static Task<Process> StartAsync(string socket)
    {
        var start = new ProcessStartInfo(DotnetHost()) { UseShellExecute = false };
        start.ArgumentList.Add(FindProgram());
        start.ArgumentList.Add(ServeCommand);
        start.ArgumentList.Add(socket);
        return StartAndConnectAsync(start, socket);
    }

    /// <summary>
    /// Starts <c>native/xs_floor.c</c>'s daemon (built next to the benchmark) on <paramref name="socket"/> with our
    /// server's default spin, and returns once a client can connect.
    /// </summary>
    public static Task<Process> StartFloorAsync(string socket)
    {
        string daemon = Path.Combine(AppContext.BaseDirectory, "xs_floor");
        if (!File.Exists(daemon))
        {
            throw new InvalidOperationException($"{daemon} is missing: the benchmark project builds it from native/xs_floor.c with gcc.");
        }

        var start = new ProcessStartInfo(daemon) { UseShellExecute = false };
        start.ArgumentList.Add(socket);
        start.ArgumentList.Add(new XenStoreServerOptions().ReceiveSpin.TotalMicroseconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return StartAndConnectAsync(start, socket);
    }

    private static async Task<Process> StartAndConnectAsync(ProcessStartInfo start, string socket)
    {
        Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        try
        {
            await using XenStoreClient probe = await ConnectAsync(socket).ConfigureAwait(false);
            return process;
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }
    }

    /// <summary>Connects to a daemon that may still be starting (retries for up to 5 s).</summary>
    public static async Task<XenStoreClient> ConnectAsync(string socket, XenStoreClientOptions? options = null)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await XenStoreClient.ConnectAsync(socket, options).ConfigureAwait(false);
            }
            catch (XenStoreConnectionException) when (attempt < 100)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
        }
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath!
        : "dotnet";

    /// <summary>
    /// The benchmark program's own build: this directory or the nearest parent with its dll and runtimeconfig.json
    /// (BenchmarkDotNet runs each case from a generated project in a folder under it, whose copy of the dll cannot be
    /// run).
    /// </summary>
    private static string FindProgram()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string dll = Path.Combine(d.FullName, ProgramFile);
            if (File.Exists(dll) && File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")))
            {
                return dll;
            }
        }

        throw new InvalidOperationException($"{ProgramFile} with its runtimeconfig.json was not found in {AppContext.BaseDirectory} or a parent.");
    }
}
