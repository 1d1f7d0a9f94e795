namespace Xen.Tool.Demo;

/// <summary>The demo's verdicts: every step records whether what it saw is what it should have seen.</summary>
internal sealed class DemoChecks
{
    private readonly List<(string Name, bool Ok)> _checks = [];

    public bool AllPassed => _checks.TrueForAll(c => c.Ok);

    public void Add(string name, bool ok) => _checks.Add((name, ok));

    public void Print(TextWriter output)
    {
        foreach (var (name, ok) in _checks)
        {
            output.WriteLine($"{(ok ? "ok  " : "FAIL")} {name}");
        }
    }
}
