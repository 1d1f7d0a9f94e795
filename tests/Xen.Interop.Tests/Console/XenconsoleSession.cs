using System.Diagnostics;
using System.Text;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>
/// Xen's console client, <c>xenconsole [--num N] DOMID</c> (what <c>xl console</c> runs), as a user at a terminal runs
/// it: it wants a terminal, so it runs under <c>script</c>, which gives it a pseudo-terminal and relays this session's
/// pipes to it. <see cref="Screen"/> is everything it has shown; <see cref="TypeAsync"/> types keys.
/// </summary>
internal sealed class XenconsoleSession : IAsyncDisposable
{
    public const string Program = PeerPrograms.XenToolsDirectory + "/xenconsole";

    private readonly Process _process;
    private readonly StringBuilder _screen = new();
    private readonly Task _reader;

    private XenconsoleSession(Process process)
    {
        _process = process;
        _reader = Task.Run(async () =>
        {
            byte[] buffer = new byte[4096];
            int n;
            while ((n = await process.StandardOutput.BaseStream.ReadAsync(buffer)) > 0)
            {
                lock (_screen)
                {
                    _screen.Append(Encoding.Latin1.GetString(buffer, 0, n));
                }
            }
        });
    }

    /// <summary>What xenconsole has shown so far.</summary>
    public string Screen
    {
        get
        {
            lock (_screen)
            {
                return _screen.ToString();
            }
        }
    }

    /// <summary>Starts <c>xenconsole</c> for <paramref name="domainId"/> (console <paramref name="number"/>) against <paramref name="store"/>, under the shim.</summary>
    public static XenconsoleSession Start(XenstoredPeer store, uint domainId, int number = 0)
    {
        PeerPrograms.Require(requirePeersScripts: false, Program, "script");
        var environment = new Dictionary<string, string>(store.ClientEnvironment)
        {
            ["LD_PRELOAD"] = store.ShimLibraryPath,
            ["XENSHIM_DIR"] = store.StateDirectory,
        };
        string command = number == 0 ? $"{Program} {domainId}" : $"{Program} --num {number} {domainId}";
        return new XenconsoleSession(Process.Start(PeerCommand.StartInfo("script", ["-qfec", command, "/dev/null"], environment))
            ?? throw new InvalidOperationException("script did not start"));
    }

    /// <summary>
    /// Has the guest print a line (through <paramref name="print"/>, given the line) now and then until one shows: nothing
    /// says when xenconsole has opened the pty, and it may flush what came before.
    /// </summary>
    public Task WaitUntilShownAsync(string text, Func<string, Task> print, Func<string> describe) =>
        Deadline.RunAsync(async token =>
        {
            for (int line = 0; !Screen.Contains(text, StringComparison.Ordinal); line++)
            {
                await print($"{text} ({line})\r\n");
                await Task.Delay(Deadline.PollInterval * 10, token);
            }
        }, () => $"xenconsole did not show '{text}'; it shows: {Screen}; {describe()}");

    /// <summary>Types <paramref name="keys"/> into xenconsole's terminal.</summary>
    public async Task TypeAsync(byte[] keys)
    {
        await _process.StandardInput.BaseStream.WriteAsync(keys);
        await _process.StandardInput.BaseStream.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        await _reader;
        _process.Dispose();
    }
}
