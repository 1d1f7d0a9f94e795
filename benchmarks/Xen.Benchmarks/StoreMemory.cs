using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xen.Benchmarks.Infrastructure;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Server;

namespace Xen.Benchmarks;

/// <summary>
/// Memory for 100 000 nodes: each daemon (C xenstored, oxenstored, our server) runs as its own process; the
/// resident set (<c>VmRSS</c>) is read from <c>/proc</c> when it is idle with its initial tree, then again after
/// 100 000 nodes with 32-byte values were written into it (100 directories of 1000, dom0, 64 writes in flight)
/// and after they were all removed again. Not a BenchmarkDotNet suite: resident memory of another process is a
/// figure BenchmarkDotNet does not take, so this is a mode of the same program:
/// <c>dotnet run -c Release --project benchmarks/Xen.Benchmarks -- store-memory</c>.
/// </summary>
internal static class StoreMemory
{
    public const string Command = "store-memory";

    /// <summary>The mode in which the program re-launches itself to host our server alone in a process.</summary>
    public const string ServeCommand = "store-memory-serve";

    private const int Directories = 100;
    private const int PerDirectory = 1000;
    private const int Nodes = Directories * PerDirectory;
    private const int InFlight = 64;

    public static async Task<int> RunAsync()
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Resident memory (VmRSS, MiB) of each xenstore daemon, idle, with {Nodes} more nodes of 32 bytes, and after removing them"));
        Console.WriteLine();
        Console.WriteLine("| daemon | idle | +100 000 nodes | growth | per node | after rm | write time |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (string daemon in new[] { "C xenstored", "oxenstored", "ours" })
        {
            string directory = $"/tmp/xsmem-{Environment.ProcessId}-{daemon[0]}";
            Directory.CreateDirectory(directory);
            string socket = Path.Combine(directory, "socket");
            Process? ours = null;
            int pid;
            try
            {
                if (daemon == "ours")
                {
                    ours = StartOurs(socket);
                    pid = ours.Id;
                }
                else
                {
                    pid = PeerDaemons.Start(daemon == "C xenstored" ? "c" : "ocaml", directory);
                }

                await using XenStoreClient client = await ConnectAsync(socket).ConfigureAwait(false);
                await client.WriteAsync("/warm", "up").ConfigureAwait(false);
                await Task.Delay(500).ConfigureAwait(false);
                long idle = ResidentBytes(pid);
                var clock = Stopwatch.StartNew();
                await WriteNodesAsync(client).ConfigureAwait(false);
                TimeSpan took = clock.Elapsed;
                await CheckAsync(client).ConfigureAwait(false);
                await Task.Delay(1000).ConfigureAwait(false);
                long full = ResidentBytes(pid);
                await client.RemoveAsync("/mem").ConfigureAwait(false);
                await Task.Delay(1000).ConfigureAwait(false);
                long emptied = ResidentBytes(pid);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {daemon} | {Mib(idle)} | {Mib(full)} | {Mib(full - idle)} | {(full - idle) / (double)Nodes:F0} B | {Mib(emptied)} | {took.TotalSeconds:F1} s |"));
            }
            finally
            {
                if (ours is not null)
                {
                    ours.Kill();
                    await ours.WaitForExitAsync().ConfigureAwait(false);
                    ours.Dispose();
                }
                else if (File.Exists(Path.Combine(directory, "daemon.pid")) &&
                    int.TryParse(File.ReadAllText(Path.Combine(directory, "daemon.pid")).Trim(), out int daemonPid))
                {
                    try
                    {
                        using var process = Process.GetProcessById(daemonPid);
                        process.Kill();
                        process.WaitForExit(5000);
                    }
                    catch (ArgumentException)
                    {
                        // already gone
                    }
                }

                Directory.Delete(directory, recursive: true);
            }
        }

        return 0;
    }

    /// <summary>Hosts our server on <paramref name="socket"/> until killed (the child process of <see cref="RunAsync"/>).</summary>
    public static async Task<int> ServeAsync(string socket)
    {
        await using XenStoreServer server = await XenStoreServer.StartAsync().ConfigureAwait(false);
        await server.ListenUnixAsync(socket).ConfigureAwait(false);
        await Task.Delay(Timeout.Infinite).ConfigureAwait(false);
        return 0;
    }

    private static Process StartOurs(string socket)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(typeof(StoreMemory).Assembly.Location);
        }

        start.ArgumentList.Add(ServeCommand);
        start.ArgumentList.Add(socket);
        return Process.Start(start) ?? throw new InvalidOperationException("Could not start our server's process.");
    }

    private static async Task<XenStoreClient> ConnectAsync(string socket)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await XenStoreClient.ConnectAsync(socket).ConfigureAwait(false);
            }
            catch (XenStoreConnectionException) when (attempt < 100)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
        }
    }

    private static Task WriteNodesAsync(XenStoreClient client)
    {
        byte[] value = Encoding.ASCII.GetBytes("0123456789abcdef0123456789ABCDEF");
        return Task.WhenAll(Enumerable.Range(0, InFlight).Select(async loop =>
        {
            for (int i = loop; i < Nodes; i += InFlight)
            {
                await client.WriteAsync(NodePath(i), value).ConfigureAwait(false);
            }
        }));
    }

    private static async Task CheckAsync(XenStoreClient client)
    {
        IReadOnlyList<string> top = await client.DirectoryAsync("/mem").ConfigureAwait(false);
        IReadOnlyList<string> last = await client.DirectoryAsync($"/mem/{Directories - 1}").ConfigureAwait(false);
        byte[] sample = await client.ReadAsync(NodePath(Nodes / 2 + 7)).ConfigureAwait(false);
        if (top.Count != Directories || last.Count != PerDirectory || sample.Length != 32)
        {
            throw new InvalidOperationException($"The daemon does not hold the nodes written: /mem has {top.Count} children, the last directory {last.Count}.");
        }
    }

    private static string NodePath(int i) => string.Create(CultureInfo.InvariantCulture, $"/mem/{i / PerDirectory}/{i % PerDirectory}");

    private static long ResidentBytes(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"No VmRSS in /proc/{pid}/status.");
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
}
