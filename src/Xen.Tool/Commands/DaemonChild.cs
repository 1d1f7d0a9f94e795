using System.Diagnostics;
using Xen.Rings.Host.Native;

namespace Xen.Tool.Commands;

/// <summary>
/// How <c>xen store serve</c> and <c>xen console serve</c> become daemons without <c>--no-fork</c> (<c>-i</c>), as C
/// xenstored's and xenconsoled's <c>daemonize</c> do it
/// (.NET cannot <c>fork</c>, so the same command line runs again as a child): the child leaves the session and the
/// working directory, serves, and once it is ready (its socket listening, its consoles served) sends its stdio to
/// <c>/dev/null</c>. The parent returns
/// when the child is ready (0) or has ended (its status), so an init script that starts it knows it failed.
/// </summary>
internal static class DaemonChild
{
    /// <summary>Set in the child's environment only: this process is the daemon.</summary>
    private const string ChildVariable = "XEN_STORE_SERVE_DAEMON";

    /// <summary>Whether this process is the daemon child (it then serves as with <c>--no-fork</c>).</summary>
    public static bool IsChild => Environment.GetEnvironmentVariable(ChildVariable) == "1";

    /// <summary>
    /// Starts this command line again as the daemon and copies its stdout until <paramref name="readyPrefix"/> starts
    /// a line; returns 0 then, or the child's exit status if it ends first.
    /// </summary>
    public static async Task<int> StartChildAsync(string readyPrefix, TextWriter output, CancellationToken cancellationToken)
    {
        string[] argv = Environment.GetCommandLineArgs(); // [0]: the entry assembly, whatever started it
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("The tool's own executable is unknown.");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        // Started as `xen ...` the executable is the assembly's app host (xen beside xen.dll), which finds the
        // assembly itself; started as `dotnet xen.dll ...` the executable is the muxer, which must be told it.
        string assembly = Path.GetFullPath(argv[0]);
        if (!string.Equals(Path.ChangeExtension(assembly, null), host, StringComparison.Ordinal))
        {
            start.ArgumentList.Add(assembly);
        }

        foreach (string arg in argv.AsSpan(1))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment[ChildVariable] = "1";
        KeepDescriptorsFromChildren();
        using Process child = Process.Start(start) ?? throw new InvalidOperationException($"{host} did not start.");
        while (await child.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            await output.WriteLineAsync(line).ConfigureAwait(false);
            if (line.StartsWith(readyPrefix, StringComparison.Ordinal))
            {
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                return 0;
            }
        }

        await child.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return child.ExitCode;
    }

    /// <summary>
    /// Marks every descriptor above stderr close-on-exec, so the child gets only stdin, stdout and stderr, as a forked C
    /// daemon's child does. The runtime keeps duplicates of the standard streams it opened (and our caller's pipes
    /// behind them) without that flag; inherited, they would keep whoever started us waiting for an end of file that
    /// never comes while the daemon lives.
    /// </summary>
    private static void KeepDescriptorsFromChildren()
    {
        foreach (int fd in OpenDescriptors())
        {
            if (fd > 2)
            {
                _ = LibC.Fcntl(fd, LibC.FSetFd, LibC.FdCloExec); // a descriptor gone since the listing fails harmlessly
            }
        }
    }

    /// <summary>This process's open descriptors, listed once (the listing's own descriptor may be among them).</summary>
    private static List<int> OpenDescriptors()
    {
        var fds = new List<int>();
        foreach (string entry in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            if (int.TryParse(Path.GetFileName(entry), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int fd))
            {
                fds.Add(fd);
            }
        }

        return fds;
    }

    /// <summary>What descriptor <paramref name="fd"/> refers to (<c>pipe:[N]</c>, a path), or null once it is closed.</summary>
    private static string? DescriptorTarget(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>In the child, before serving: a session of its own, off any mount point, and no marker for its children.</summary>
    public static void Detach()
    {
        Environment.SetEnvironmentVariable(ChildVariable, null);
        _ = LibC.Setsid();
        Environment.CurrentDirectory = "/";
    }

    /// <summary>
    /// In the child, once it announced readiness: stdin, stdout and stderr go to <c>/dev/null</c>, and so do the
    /// runtime's own duplicates of them (its console streams write through copies of descriptors 0-2, which would
    /// otherwise hold the starter's pipes open, and it waiting for their end, for as long as the daemon lives).
    /// </summary>
    public static void FinishDetach()
    {
        int devNull = LibC.Open("/dev/null", LibC.ORdWr);
        if (devNull < 0)
        {
            return; // stdio stays as it was: the parent's pipe, which only costs a failed write once it is gone
        }

        var stdio = new HashSet<string>(StringComparer.Ordinal);
        for (int fd = 0; fd <= 2; fd++)
        {
            if (DescriptorTarget(fd) is { } target)
            {
                stdio.Add(target);
            }
        }

        foreach (int fd in OpenDescriptors())
        {
            if (fd > 2 && fd != devNull && DescriptorTarget(fd) is { } target && stdio.Contains(target))
            {
                _ = LibC.Dup2(devNull, fd);
            }
        }

        for (int fd = 0; fd <= 2; fd++)
        {
            _ = LibC.Dup2(devNull, fd);
        }

        if (devNull > 2)
        {
            _ = LibC.Close(devNull);
        }
    }
}
