using System.Diagnostics;

namespace Xen.Benchmarks.Infrastructure;

/// <summary>The real xenstore daemons (C xenstored, oxenstored) started through the peers' scripts.</summary>
internal static class PeerDaemons
{
    /// <summary>
    /// Starts a real daemon with the peers' <c>run_xenstored.sh</c>, found in <c>$XEN_PEERS_DIR</c> or in a
    /// <c>shared/peers</c> folder beside any parent of the benchmark, and returns its pid.
    /// </summary>
    public static int Start(string kind, string stateDirectory)
    {
        string script = FindPeersScript()
            ?? throw new InvalidOperationException(
                "The xenstore benchmarks need the real xenstored: shared/peers/run_xenstored.sh was not found beside any parent " +
                "directory of the benchmark; set XEN_PEERS_DIR to the peers folder (see /work/shared/peers/PEERS.md: " +
                "apt-get install xen-utils-4.17 libxenstore4 libxen-dev gcc).");
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(kind);
        start.ArgumentList.Add(stateDirectory);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not run {script}.");
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 || !int.TryParse(output.Trim(), out int pid))
        {
            throw new InvalidOperationException($"{script} {kind} {stateDirectory} failed (exit {process.ExitCode}): {output}{error}");
        }

        return pid;
    }

    private static string? FindPeersScript()
    {
        if (Environment.GetEnvironmentVariable("XEN_PEERS_DIR") is { Length: > 0 } dir)
        {
            string candidate = Path.Combine(dir, "run_xenstored.sh");
            return File.Exists(candidate) ? candidate : null;
        }

        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "shared", "peers", "run_xenstored.sh");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
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
