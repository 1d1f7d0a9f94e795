using System.Diagnostics;

namespace Xen.Rings.Tests.Native;

/// <summary>
/// The C# end's stand-in for sleeping on an event channel while a C peer works: a 1 ms nap, and a clear failure
/// instead of a hang when the peer has exited or nothing moved for <see cref="StallLimit"/>.
/// </summary>
internal sealed class PeerWait(NativeProcess peer, string waitingFor)
{
    /// <summary>How long the test waits without progress; longer than the C peer's own limit, so it reports first.</summary>
    public static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(30);

    private readonly Stopwatch _sinceProgress = Stopwatch.StartNew();
    private bool _sawExit;

    /// <summary>Call when data moved.</summary>
    public void Progressed() => _sinceProgress.Restart();

    /// <summary>Call when there is nothing to do: naps, or fails when the peer cannot make anything happen any more.</summary>
    public void Nap()
    {
        if (peer.HasExited)
        {
            // The peer may have published its last data just before exiting: look once more, then fail.
            if (_sawExit)
            {
                Assert.Fail($"The C peer exited while the test waited for {waitingFor}. {peer.Describe()}");
            }

            _sawExit = true;
            return;
        }

        if (_sinceProgress.Elapsed > StallLimit)
        {
            Assert.Fail($"Nothing moved for {StallLimit.TotalSeconds:0} s while the test waited for {waitingFor}. {peer.Describe()}");
        }

        Thread.Sleep(1);
    }
}
