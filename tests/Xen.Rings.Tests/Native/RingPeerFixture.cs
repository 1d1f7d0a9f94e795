namespace Xen.Rings.Tests.Native;

/// <summary>Compiles <c>tests/native/xen_ring_peer.c</c> once for the tests that run it.</summary>
public sealed class RingPeerFixture
{
    /// <summary>How long a test waits for the peer's lines and exit (a hang guard, not a measurement).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);

    /// <summary>The compiled peer.</summary>
    public string Executable { get; } = NativeCompiler.Build("xen_ring_peer.c");

    internal NativeProcess Start(params IEnumerable<string> arguments) => NativeProcess.Start(Executable, arguments);

    /// <summary>
    /// Waits for the peer to exit with status 0 and returns the fields of its final line, which must start with
    /// <c>done</c>.
    /// </summary>
    internal static string[] Finish(NativeProcess peer)
    {
        string line = peer.ReadLine(Timeout);
        int exitCode = peer.WaitForExit(Timeout);
        Assert.True(exitCode == 0, $"The C peer failed. {peer.Describe()}");
        string[] fields = line.Split(' ');
        Assert.True(fields[0] == "done", $"Expected the peer's \"done ...\" line, got \"{line}\". {peer.Describe()}");
        return fields;
    }
}
