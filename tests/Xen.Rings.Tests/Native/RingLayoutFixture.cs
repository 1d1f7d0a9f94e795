using System.Globalization;

namespace Xen.Rings.Tests.Native;

/// <summary>
/// Compiles and runs <c>tests/native/ring_layout.c</c> once and keeps what it printed: one <c>name value</c> per
/// line, the sizes, offsets and constants of Xen's headers as gcc sees them.
/// </summary>
public sealed class RingLayoutFixture
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(40);

    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public RingLayoutFixture()
    {
        string executable = NativeCompiler.Build("ring_layout.c");
        var (exitCode, output, error) = NativeProcess.Run(executable, [], RunTimeout);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"ring_layout exited with {exitCode}: {error}");
        }

        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || !_values.TryAdd(line[..space], line[(space + 1)..]))
            {
                throw new InvalidOperationException($"ring_layout printed a malformed or repeated line: \"{line}\"");
            }
        }
    }

    /// <summary>Every name the program printed.</summary>
    public IReadOnlyCollection<string> Names => _values.Keys;

    /// <summary>Whether the program printed <paramref name="name"/> (values the installed headers may lack).</summary>
    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>The text printed for <paramref name="name"/>; fails the test when there is none.</summary>
    public string Text(string name)
    {
        Assert.True(_values.TryGetValue(name, out string? value), $"ring_layout.c printed no value for \"{name}\".");
        return value!;
    }

    /// <summary>The number printed for <paramref name="name"/>.</summary>
    public long Number(string name) => long.Parse(Text(name), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
}
