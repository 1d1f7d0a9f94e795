using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.DropIn;

/// <summary>Our daemon as its own process (<c>dotnet xen.dll store serve --no-fork ...</c>), for the tests that kill, restart or update it.</summary>
internal static class StoreServeProcess
{
    /// <summary>
    /// Starts <c>xen store serve --no-fork</c> with <paramref name="options"/> and returns once it says it listens (and,
    /// given <paramref name="alsoSays"/>, once that is in its output too); a daemon that exits first fails the test.
    /// </summary>
    public static async Task<PeerDaemon> StartAsync(IEnumerable<string> options, string? alsoSays = null)
    {
        PeerDaemon serve = PeerDaemon.Start("dotnet", [PeerPrograms.XenTool, "store", "serve", "--no-fork", .. options], new Dictionary<string, string>());
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
