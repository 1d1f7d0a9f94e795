using System.Diagnostics;
using Xen.TestSupport.Peers;

namespace Xen.Benchmarks.Infrastructure;

/// <summary>The xenstore daemons started through the peers' scripts: C xenstored, oxenstored, and ours as the drop-in daemon.</summary>
internal static class PeerDaemons
{
    /// <summary>
    /// Starts a real daemon with the peers' <c>run_xenstored.sh</c> (<see cref="PeerPrograms.RunXenstoredScript"/>:
    /// <c>$XEN_PEERS_DIR</c>, or <c>shared/peers</c> beside the repository) and returns its pid. For <c>ours</c>,
    /// <paramref name="environment"/> carries <c>XENSTORED_OURS</c>, the command that starts it.
    /// </summary>
    public static int Start(string kind, string stateDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        string script = PeerPrograms.RunXenstoredScript; // PeerUnavailableException says what is missing and how to install it
        PeerCommandResult result = PeerCommand.RunAsync("/bin/sh", [script, kind, stateDirectory], environment).GetAwaiter().GetResult();
        if (result.ExitCode != 0 || !int.TryParse(result.StandardOutput.Trim(), out int pid))
        {
            throw new InvalidOperationException($"{script} {kind} {stateDirectory} failed (exit {result.ExitCode}): {result.StandardOutput}{result.StandardError}");
        }

        return pid;
    }

    /// <summary>Kills the daemon process <paramref name="pid"/> and waits (up to 5 s) for it to exit; one already gone is fine.</summary>
    public static void Stop(int pid)
    {
        try
        {
            using var daemon = Process.GetProcessById(pid);
            daemon.Kill();
            daemon.WaitForExit(5000);
        }
        catch (ArgumentException)
        {
            // already gone
        }
    }
}
