using System.Runtime.InteropServices;
using Xen.Rings.Host.Native;

namespace Xen.Store.Server.LiveUpdate;

/// <summary>What a live update hands to the new process: the stream, the connections it carries, the binary and its command line.</summary>
internal sealed record LiveUpdatePlan(
    byte[] Stream, IReadOnlyList<(ServerConnection Connection, CarriedConnection Carried)> Carried, IReadOnlyList<string> LeftOut, string Binary, string? CommandLine);

/// <summary>
/// Runs a started live update in the server's process: waits while the engine says transactions hold it back, then
/// freezes every connection (each finishes the request in hand, a ring also puts what it owes in <c>rsp[]</c>), waits
/// until none is touching its buffers, and under the engine's lock writes the migration stream to <c>state_dump</c>,
/// lets the listening socket and every carried client's descriptor survive <c>exec</c>, and executes the new binary. If
/// anything fails, the freeze ends and the start request is answered with why, as C xenstored answers it.
/// </summary>
/// <remarks>
/// A socket client whose output cannot be sent within <see cref="QuietTimeout"/> (it does not read) is not carried: its
/// send is in flight on another thread, so the bytes it still owes are not known; it sees its connection close. C
/// xenstored, single-threaded, carries it with its pending output. Rings are always carried: what a guest does not
/// read stays queued, and goes in the stream.
/// </remarks>
internal sealed class LiveUpdateCoordinator(StoreEngine engine, SocketWorkers workers, Func<int> listenerFd, LiveUpdateSettings settings)
{
    /// <summary>How often a waiting update looks at the transactions again (C looks on every request and each second).</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    /// <summary>How long the freeze waits for every connection to go quiet before the ones that have not are left out.</summary>
    public static readonly TimeSpan QuietTimeout = TimeSpan.FromSeconds(2);

    private int _running;

    /// <summary>An update was started (CONTROL <c>live-update -s</c>, under the engine's lock): run it unless one runs.</summary>
    public void Started()
    {
        if (Interlocked.Exchange(ref _running, 1) == 0)
        {
            _ = Task.Run(RunAsync);
        }
    }

    private async Task RunAsync()
    {
        try
        {
            StoreEngine.LiveUpdateStep step;
            while ((step = engine.NextLiveUpdateStep()) == StoreEngine.LiveUpdateStep.Wait)
            {
                await Task.Delay(Poll).ConfigureAwait(false);
            }

            if (step == StoreEngine.LiveUpdateStep.None)
            {
                return;
            }

            // The workers first: a worker then takes at most one more receive before it stops, so a buffer the frozen
            // engine no longer empties never fills.
            workers.Freeze();
            engine.Freeze();
            foreach (ServerConnection c in engine.Connections())
            {
                c.OutputReady(); // a ring waiting for its guest wakes, sees the freeze and parks
            }

            long deadline = Environment.TickCount64 + (long)QuietTimeout.TotalMilliseconds;
            while (engine.Connections().Any(c => !c.IsQuiet) && Environment.TickCount64 < deadline)
            {
                await Task.Delay(1).ConfigureAwait(false);
            }

            string why = engine.HandOver(listenerFd(), Exec);
            workers.Thaw();
            engine.Thaw(why);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>Writes the stream and executes the new binary; returns (why) only if that failed.</summary>
    private string Exec(LiveUpdatePlan plan)
    {
        try
        {
            File.WriteAllBytes(settings.DumpPath, plan.Stream);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(settings.DumpPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "Dump state open error";
        }

        List<string> arguments = NewArguments(plan.CommandLine);
        if (settings.Log is { } log)
        {
            log($"live update: handing {plan.Carried.Count} connections ({plan.Stream.Length} bytes of state) to {plan.Binary} {string.Join(' ', arguments)}");
            foreach (var (connection, carried) in plan.Carried)
            {
                log($"live update: carried: {connection.Description} (domain {connection.DomainId}): {carried.Input.Length} bytes read and not handled, {carried.Output.Length} to write");
            }

            foreach (string left in plan.LeftOut)
            {
                log($"live update: not carried: {left}");
            }
        }

        var inherited = new List<int> { listenerFd() };
        inherited.AddRange(plan.Carried.Select(c => c.Carried.SocketFd));
        inherited.RemoveAll(fd => fd < 0);
        foreach (int fd in inherited)
        {
            _ = LibC.Fcntl(fd, LibC.FSetFd, 0);
        }

        Execv(plan.Binary, [plan.Binary, .. arguments]);
        foreach (int fd in inherited)
        {
            _ = LibC.Fcntl(fd, LibC.FSetFd, LibC.FdCloExec);
        }

        File.Delete(settings.DumpPath);
        return "Error activating new binary.";
    }

    /// <summary>
    /// The new binary's arguments, as C xenstored builds them: the <c>-c</c> command line split at blanks, else this
    /// daemon's own; <c>-U</c> added unless there.
    /// </summary>
    private List<string> NewArguments(string? commandLine)
    {
        List<string> args = commandLine is null ? [.. settings.Arguments] : [.. commandLine.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)];
        if (!args.Contains("-U"))
        {
            args.Add("-U");
        }

        return args;
    }

    private static unsafe void Execv(string path, IReadOnlyList<string> argv)
    {
        var strings = new nint[argv.Count + 1];
        nint file = Marshal.StringToCoTaskMemUTF8(path);
        try
        {
            for (int i = 0; i < argv.Count; i++)
            {
                strings[i] = Marshal.StringToCoTaskMemUTF8(argv[i]);
            }

            fixed (nint* p = strings)
            {
                _ = LibC.Execv((byte*)file, (byte**)p);
            }
        }
        finally
        {
            Marshal.FreeCoTaskMem(file);
            foreach (nint s in strings)
            {
                Marshal.FreeCoTaskMem(s);
            }
        }
    }
}
