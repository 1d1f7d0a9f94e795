using System.Collections.Concurrent;

namespace Xen.Rings.Tests.Native;

/// <summary>
/// Builds the C programs of <c>tests/native</c> (copied next to the test assembly under <c>native/</c>) with gcc
/// against Xen's public headers, once per test run, into a temporary directory removed when the run ends.
/// </summary>
/// <remarks>
/// gcc and libxen-dev are a promise of CI (<c>.ci/run</c> installs them), so a missing compiler or header is a
/// failure with instructions, never a skipped test.
/// </remarks>
internal static class NativeCompiler
{
    /// <summary>The header whose presence says libxen-dev is installed.</summary>
    public const string XenRingHeader = "/usr/include/xen/io/ring.h";

    private const string SkipHint = "To run the other tests without them: dotnet test --filter Category!=Native.";

    private static readonly TimeSpan CompileTimeout = TimeSpan.FromMinutes(2);
    private static readonly ConcurrentDictionary<string, Lazy<string>> Built = new(StringComparer.Ordinal);
    private static readonly Lazy<string> OutputDirectory = new(CreateOutputDirectory);

    /// <summary>Compiles <c>native/<paramref name="sourceName"/></c> (once) and returns the executable's path.</summary>
    /// <exception cref="InvalidOperationException">gcc or Xen's headers are missing, or the program does not compile.</exception>
    public static string Build(string sourceName) =>
        Built.GetOrAdd(sourceName, name => new Lazy<string>(() => Compile(name))).Value;

    private static string Compile(string sourceName)
    {
        string source = Path.Combine(AppContext.BaseDirectory, "native", sourceName);
        if (!File.Exists(source))
        {
            throw new InvalidOperationException(
                $"{source} is missing: the test project copies tests/native/*.c into the output directory; rebuild it.");
        }

        string gcc = FindOnPath("gcc") ?? throw new InvalidOperationException(
            "gcc is not on PATH. The native layout and ring-peer tests compile C programs against Xen's public " +
            "headers: install gcc, libc6-dev and libxen-dev (apt-get install gcc libc6-dev libxen-dev; .ci/run does). " +
            SkipHint);
        if (!File.Exists(XenRingHeader))
        {
            throw new InvalidOperationException(
                $"{XenRingHeader} is missing. The native layout and ring-peer tests compile C programs against Xen's " +
                "public headers: install libxen-dev (apt-get install libxen-dev; .ci/run does). " + SkipHint);
        }

        string executable = Path.Combine(OutputDirectory.Value, Path.GetFileNameWithoutExtension(sourceName));
        var (exitCode, _, error) = NativeProcess.Run(
            gcc, ["-O2", "-Wall", "-Wextra", "-D__XEN_TOOLS__", "-o", executable, source], CompileTimeout);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"gcc failed with exit code {exitCode} on {sourceName}:\n{error}");
        }

        return executable;
    }

    private static string CreateOutputDirectory()
    {
        string directory = Directory.CreateTempSubdirectory("xen-rings-native-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        };
        return directory;
    }

    private static string? FindOnPath(string program)
    {
        string? path = Environment.GetEnvironmentVariable("PATH");
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        foreach (string directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
