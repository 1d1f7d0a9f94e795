using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.DropIn;

/// <summary>Our daemon as its own process (<c>dotnet xen.dll store serve --no-fork ...</c>), for the tests that kill, restart or update it.</summary>
internal static class StoreServeProcess
{
    /// <summary>
    /// Starts <c>xen store serve --no-fork</c> with <paramref name="options"/> and returns once it says it listens (and,
    /// given <paramref name="alsoSays"/>, once that is in its output too); a daemon that exits first fails the test.
    /// With <paramref name="openFileLimit"/>, it runs under <c>prlimit --nofile</c> at that limit; with
    /// <paramref name="hangUpIgnored"/>, under <c>nohup</c> (started with SIGHUP ignored).
    /// </summary>
    public static async Task<PeerDaemon> StartAsync(IEnumerable<string> options, string? alsoSays = null, int openFileLimit = 0, bool hangUpIgnored = false)
    {
        string[] command = ["dotnet", PeerPrograms.XenTool, "store", "serve", "--no-fork", .. options];
        command = openFileLimit > 0 ? ["prlimit", $"--nofile={openFileLimit}:{openFileLimit}", .. command] : command;
        command = hangUpIgnored ? ["nohup", .. command] : command;
        PeerDaemon serve = PeerDaemon.Start(command[0], command[1..], new Dictionary<string, string>());
        try
        {
            await Deadline.PollAsync(
                () => serve.HasExited || (serve.Output.Contains("xenstored listening on", StringComparison.Ordinal) &&
                    (alsoSays is null || serve.Output.Contains(alsoSays, StringComparison.Ordinal))),
                () => $"the server did not start{(alsoSays is null ? "" : $" and say \"{alsoSays}\"")}: {serve.Output}");
            Assert.False(serve.HasExited, serve.Output);
            return serve;
        }
        catch
        {
            serve.Dispose();
            throw;
        }
    }
}
