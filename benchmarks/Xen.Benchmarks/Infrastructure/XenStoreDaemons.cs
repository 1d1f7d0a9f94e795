using System.Diagnostics;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Server;

namespace Xen.Benchmarks.Infrastructure;

/// <summary>
/// The xenstore daemons the benchmarks measure, each started as a process of its own on <c>DIR/socket</c>: C xenstored
/// and oxenstored through the peers' script (<see cref="PeerDaemons"/>), our <see cref="XenStoreServer"/> as the
/// benchmark program re-launched in <see cref="ServeCommand"/> mode, and <c>native/xs_floor.c</c>.
/// </summary>
internal static class XenStoreDaemons
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

    /// <summary>
    /// Starts <paramref name="daemon"/> as a process listening on <c><paramref name="directory"/>/socket</c> and
    /// returns its pid once a client can connect; stop it with <see cref="PeerDaemons.Stop"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><see cref="XenStoreDaemon.Ours"/> runs in the benchmark's process, not as one of its own.</exception>
    public static async Task<int> StartAsync(XenStoreDaemon daemon, string directory)
    {
        string socket = Path.Combine(directory, "socket");
        ProcessStartInfo start;
        switch (daemon)
        {
            case XenStoreDaemon.CXenstored:
                return PeerDaemons.Start("c", directory);
            case XenStoreDaemon.OXenstored:
                return PeerDaemons.Start("ocaml", directory);
            case XenStoreDaemon.OursProcess:
                start = new ProcessStartInfo(DotnetHost()) { UseShellExecute = false };
                start.ArgumentList.Add(FindProgram());
                start.ArgumentList.Add(ServeCommand);
                start.ArgumentList.Add(socket);
                break;
            case XenStoreDaemon.Floor:
                // With our server's default spin (ReceiveSpin).
                start = new ProcessStartInfo(FindFloor()) { UseShellExecute = false };
                start.ArgumentList.Add(socket);
                start.ArgumentList.Add(new XenStoreServerOptions().ReceiveSpin.TotalMicroseconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
                break;
            default:
                throw new ArgumentException($"{daemon} does not run as a process of its own.", nameof(daemon));
        }

        return await StartListeningAsync(start, socket).ConfigureAwait(false);
    }

    /// <summary>Starts <paramref name="start"/> and returns its pid once a client can connect to <paramref name="socket"/>; kills it if none can.</summary>
    private static async Task<int> StartListeningAsync(ProcessStartInfo start, string socket)
    {
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        try
        {
            await using XenStoreClient probe = await ConnectAsync(socket).ConfigureAwait(false);
            return process.Id;
        }
        catch
        {
            process.Kill();
            throw;
        }
    }

    /// <summary>
    /// Starts the native <c>xen</c> at <paramref name="nativeXen"/> as <c>xen store serve --no-fork -D --socket
    /// DIR/socket</c> (its own settings: the tool's runtime options, not the benchmark program's) and returns its pid
    /// once a client can connect.
    /// </summary>
    public static Task<int> StartNativeAsync(string nativeXen, string directory) => StartToolAsync(nativeXen, [], directory, tiered: true);

    /// <summary>
    /// Starts this build's JIT tool, <c>dotnet xen.dll store serve --no-fork -D --socket DIR/socket</c>, with tiered
    /// compilation off (<c>DOTNET_TieredCompilation=0</c>: every method compiled once, fully optimized), and returns its
    /// pid once a client can connect: what the daemon itself holds, without the code tiering recompiles as it warms.
    /// </summary>
    public static Task<int> StartUntieredToolAsync(string directory) => StartToolAsync(DotnetHost(), [FindAssembly("xen.dll")], directory, tiered: false);

    /// <summary>This build's JIT tool as the command <c>XENSTORED_OURS</c> gives the peers' <c>run_xenstored.sh ours</c>.</summary>
    public static string OursCommand => $"{DotnetHost()} {FindAssembly("xen.dll")} store serve";

    private static async Task<int> StartToolAsync(string program, string[] before, string directory, bool tiered)
    {
        string socket = Path.Combine(directory, "socket");
        var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (!tiered)
        {
            start.Environment["DOTNET_TieredCompilation"] = "0";
        }

        foreach (string arg in (string[])[.. before, "store", "serve", "--no-fork", "-D", "--socket", socket])
        {
            start.ArgumentList.Add(arg);
        }

        return await StartListeningAsync(start, socket).ConfigureAwait(false);
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

    /// <summary>The <c>dotnet</c> host that runs this program, for starting another .NET program the same way.</summary>
    public static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath!
        : "dotnet";

    /// <summary><c>native/xs_floor.c</c>'s daemon, which the benchmark project builds next to itself.</summary>
    private static string FindFloor()
    {
        string daemon = Path.Combine(AppContext.BaseDirectory, "xs_floor");
        return File.Exists(daemon) ? daemon
            : throw new InvalidOperationException($"{daemon} is missing: the benchmark project builds it from native/xs_floor.c with gcc.");
    }

    /// <summary>The benchmark program's own build (<see cref="FindAssembly"/>), to re-launch it.</summary>
    private static string FindProgram() => FindAssembly(ProgramFile);

    /// <summary>
    /// A file of the benchmark program's build: <paramref name="file"/> in this directory or the nearest parent that has
    /// it, with a runtimeconfig.json when it is a .NET program (BenchmarkDotNet runs each case from a generated project in
    /// a folder under the build, whose copies of the dlls cannot be run). <c>xen.dll</c> is there through the project
    /// reference to <c>src/Xen.Tool</c>; <c>xs_guest</c> and <c>xs_floor</c> are built by the project with gcc.
    /// </summary>
    public static string FindAssembly(string file)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string path = Path.Combine(d.FullName, file);
            if (File.Exists(path) && (!file.EndsWith(".dll", StringComparison.Ordinal) || File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json"))))
            {
                return path;
            }
        }

        throw new InvalidOperationException($"{file} was not found in {AppContext.BaseDirectory} or a parent (a .dll with its runtimeconfig.json): rebuild the benchmark project.");
    }
}
