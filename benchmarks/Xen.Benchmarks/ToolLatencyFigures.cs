using System.Diagnostics;
using System.Globalization;
using Xen.Benchmarks.Infrastructure;
using Xen.TestSupport.Peers;

namespace Xen.Benchmarks;

/// <summary>
/// <c>tool-latency NATIVE_XEN</c>: the whole-process time of one xenstore command, as a hotplug script pays it, for
/// xenstore-utils (<c>xenstore-read|write|ls</c>, the baseline), the native <c>xen</c> (NativeAOT, the path given) and the
/// JIT build (<c>dotnet xen.dll</c>), against the same C xenstored under the shim, in alternating order; then a
/// 20-command script (10 writes, 10 reads, as a hotplug script's) run each way; then the floors, <c>/bin/true</c> and the
/// native <c>xen --version</c>. Medians of 11 runs, wall time.
/// Run: <c>dotnet run -c Release --project benchmarks/Xen.Benchmarks -- tool-latency artifacts/native/xen</c>.
/// </summary>
internal static class ToolLatencyFigures
{
    public const string Command = "tool-latency";

    private const int Runs = 11;

    public static async Task<int> RunAsync(string nativeXen)
    {
        string native = Path.GetFullPath(nativeXen);
        if (!File.Exists(native))
        {
            throw new InvalidOperationException($"{native} does not exist: publish it first (dotnet publish src/Xen.Tool -c Release -r linux-x64 -p:PublishAot=true -o artifacts/native).");
        }

        string jit = XenStoreDaemons.FindAssembly("xen.dll");
        string directory = $"/tmp/tool-latency-{Environment.ProcessId}";
        Directory.CreateDirectory(directory);
        int daemon = PeerDaemons.Start("c", directory);
        try
        {
            var environment = new Dictionary<string, string> { ["XENSTORED_PATH"] = Path.Combine(directory, "socket") };
            (string Name, Func<string, string[], (string, string[])> Command)[] tools =
            [
                ("xenstore-utils", (command, args) => ($"/usr/bin/xenstore-{command}", args)),
                ("xen (native)", (command, args) => (native, ["store", command, .. args])),
                ("xen (JIT, dotnet xen.dll)", (command, args) => (XenStoreDaemons.DotnetHost(), [jit, "store", command, .. args])),
            ];
            (string Command, string[] Args)[] commands = [("write", ["/lat/a", "0123456789abcdef"]), ("read", ["/lat/a"]), ("ls", ["/lat"])];
            foreach ((string command, string[] args) in commands)
            {
                await CheckAsync(tools.Select(t => t.Command(command, args)), environment).ConfigureAwait(false);
            }

            var medians = new Dictionary<(string Tool, string Command), double>();
            foreach ((string command, string[] args) in commands)
            {
                var times = tools.ToDictionary(t => t.Name, _ => new List<double>());
                for (int run = 0; run < Runs; run++)
                {
                    foreach ((string name, var make) in tools)
                    {
                        (string program, string[] arguments) = make(command, args);
                        times[name].Add(await TimeAsync([(program, arguments)], environment).ConfigureAwait(false));
                    }
                }

                foreach ((string name, _) in tools)
                {
                    medians[(name, command)] = Statistics.Median(times[name]);
                }
            }

            string[] script = [.. Enumerable.Range(0, 10).SelectMany(i => new[] { $"write /lat/s{i} v{i}", $"read /lat/s{i}" })];
            var scriptTimes = tools.ToDictionary(t => t.Name, _ => new List<double>());
            for (int run = 0; run < Runs; run++)
            {
                foreach ((string name, var make) in tools)
                {
                    var steps = script.Select(line => line.Split(' ')).Select(w => make(w[0], w[1..])).ToList();
                    scriptTimes[name].Add(await TimeAsync(steps, environment).ConfigureAwait(false));
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Whole-process time of one command against C xenstored (median of {Runs}, ms; ratio to xenstore-utils)"));
            Console.WriteLine();
            Console.WriteLine("| tool | " + string.Join(" | ", commands.Select(c => c.Command)) + " | 20-command script |");
            Console.WriteLine("|---|" + string.Concat(Enumerable.Repeat("---:|", commands.Length + 1)));
            foreach ((string name, _) in tools)
            {
                IEnumerable<string> cells = commands.Select(c => Cell(medians[(name, c.Command)], medians[(tools[0].Name, c.Command)]));
                Console.WriteLine($"| {name} | {string.Join(" | ", cells)} | {Cell(Statistics.Median(scriptTimes[name]), Statistics.Median(scriptTimes[tools[0].Name]))} |");
            }

            // What no command can go below: starting a process at all, and the native tool doing nothing but start.
            (string Name, string Program, string[] Args)[] floors = [("/bin/true", "/bin/true", []), ("xen --version (native)", native, ["--version"])];
            var floorTimes = floors.ToDictionary(f => f.Name, _ => new List<double>());
            for (int run = 0; run < Runs; run++)
            {
                foreach ((string name, string program, string[] args) in floors)
                {
                    floorTimes[name].Add(await TimeAsync([(program, args)], environment).ConfigureAwait(false));
                }
            }

            Console.WriteLine();
            Console.WriteLine(string.Join(", ", floors.Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Name}: {Statistics.Median(floorTimes[f.Name]):F1} ms"))));
            return 0;
        }
        finally
        {
            PeerDaemons.Stop(daemon);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Cell(double ms, double baseline) => string.Create(CultureInfo.InvariantCulture, $"{ms:F1} ({ms / baseline:F1}x)");

    /// <summary>Every tool's command must succeed (and print the same thing) before anything is timed.</summary>
    private static async Task CheckAsync(IEnumerable<(string Program, string[] Args)> runs, Dictionary<string, string> environment)
    {
        string? expected = null;
        foreach ((string program, string[] args) in runs)
        {
            PeerCommandResult result = await PeerCommand.RunAsync(program, args, environment).ConfigureAwait(false);
            if (result.ExitCode != 0 || (expected is not null && result.StandardOutput != expected))
            {
                throw new InvalidOperationException($"{program} {string.Join(' ', args)}: exit {result.ExitCode}, printed {result.StandardOutput}{result.StandardError} (expected {expected})");
            }

            expected ??= result.StandardOutput;
        }
    }

    /// <summary>Wall time of the commands one after another, each a process started and waited for, in milliseconds.</summary>
    private static async Task<double> TimeAsync(IEnumerable<(string Program, string[] Args)> steps, Dictionary<string, string> environment)
    {
        var clock = Stopwatch.StartNew();
        foreach ((string program, string[] args) in steps)
        {
            PeerCommandResult result = await PeerCommand.RunAsync(program, args, environment).ConfigureAwait(false);
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed (exit {result.ExitCode}): {result.StandardError}");
            }
        }

        return clock.Elapsed.TotalMilliseconds;
    }
}
