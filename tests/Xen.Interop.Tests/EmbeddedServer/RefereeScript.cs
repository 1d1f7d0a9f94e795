using Xen.Store;
using Xen.TestSupport.Peers;
using Xunit.Abstractions;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// One script of requests run against a real daemon (the referee) and then against our drop-in daemon, each started
/// afresh, every answer logged one line per step; the caller compares the two logs.
/// </summary>
internal static class RefereeScript
{
    /// <summary>A script: it connects to the daemon's socket (its state directory beside it) and adds one line per step to the log.</summary>
    public delegate Task Body(string socketPath, string stateDirectory, List<string> log, CancellationToken token);

    /// <summary>Runs <paramref name="script"/> against <paramref name="referee"/> then ours; writes both logs to <paramref name="output"/>.</summary>
    public static async Task<(List<string> Theirs, List<string> Ours)> RunAsync(XenstoredKind referee, Body script, ITestOutputHelper output)
    {
        List<string> theirs = [];
        await using (XenstoredPeer daemon = await XenstoredPeer.StartAsync(referee))
        {
            await Deadline.RunAsync(
                token => script(daemon.SocketPath, daemon.StateDirectory, theirs, token),
                () => $"{referee} xenstored did not answer the script after [{string.Join("; ", theirs)}]; its output: {daemon.DaemonOutput}");
        }

        List<string> ours = [];
        await using (EmbeddedStore store = await EmbeddedStore.StartAsync())
        {
            await Deadline.RunAsync(
                token => script(store.Peer.SocketPath, store.StateDirectory, ours, token),
                () => $"our server did not answer the script after [{string.Join("; ", ours)}]");
        }

        output.WriteLine(string.Join('\n', theirs));
        output.WriteLine("----");
        output.WriteLine(string.Join('\n', ours));
        return (theirs, ours);
    }

    /// <summary>One step of a script through a client: logs <c>NAME: ANSWER</c>, or <c>NAME: ERRNO</c> when the daemon refused it.</summary>
    public static async Task StepAsync(List<string> log, string name, Func<Task<string>> operation)
    {
        try
        {
            log.Add($"{name}: {await operation()}");
        }
        catch (XenStoreErrorException e)
        {
            log.Add($"{name}: {e.RawError}");
        }
    }

    /// <summary>The answer of a step that returns nothing: <c>OK</c> once <paramref name="operation"/> has succeeded.</summary>
    public static async Task<string> OkAsync(Func<Task> operation)
    {
        await operation();
        return "OK";
    }
}
