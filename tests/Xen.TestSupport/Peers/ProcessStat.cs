using System.Globalization;

namespace Xen.TestSupport.Peers;

/// <summary>
/// A process's <c>/proc/&lt;pid&gt;/stat</c>, read past its command name (which may hold spaces and parentheses), and the
/// figures of <c>/proc/&lt;pid&gt;/status</c> the tests and benchmarks compare daemons by.
/// </summary>
public static class ProcessStat
{
    /// <summary>
    /// The fields from the state on: [0] state, [1] ppid, [2] pgrp, [3] session, ... [11] utime, [12] stime (proc(5)'s
    /// fields 3 and up, counted from 0).
    /// </summary>
    /// <exception cref="IOException">The process is gone (or never was).</exception>
    public static string[] Fields(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    /// <summary>Whether <paramref name="pid"/> is a live process (not gone, not a zombie).</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            return Fields(pid)[0] is not ("Z" or "X");
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>How many threads the process runs now (<c>num_threads</c>).</summary>
    /// <exception cref="IOException">The process is gone.</exception>
    public static int Threads(int pid) => int.Parse(Fields(pid)[17], CultureInfo.InvariantCulture);

    /// <summary>The process's resident set (<c>VmRSS</c>), in bytes.</summary>
    /// <exception cref="IOException">The process is gone.</exception>
    public static long ResidentBytes(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new IOException($"No VmRSS in /proc/{pid}/status (a kernel thread, or a zombie).");
    }
}
