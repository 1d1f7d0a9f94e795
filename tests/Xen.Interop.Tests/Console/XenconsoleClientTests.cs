using System.Diagnostics;
using System.Text;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>
/// Xen's own console client, <c>xenconsole DOMID</c> (what <c>xl console</c> runs), attached through the daemon's
/// published <c>console/tty</c>, on the real xenconsoled and on ours: it shows what the guest prints, and what is typed
/// into it reaches the guest's <c>in[]</c>. xenconsole wants a terminal, so it runs under <c>script</c>, which gives it a
/// pseudo-terminal and relays the test's pipes to it.
/// </summary>
[Trait("Category", "Interop")]
public sealed class XenconsoleClientTests
{
    private const string Xenconsole = PeerPrograms.XenToolsDirectory + "/xenconsole";

    public static TheoryData<ConsoleDaemonKind> Daemons => new() { ConsoleDaemonKind.Xenconsoled, ConsoleDaemonKind.Ours };

    [Theory]
    [MemberData(nameof(Daemons))]
    public async Task Xenconsole_shows_the_guests_output_and_sends_its_keys_to_the_guest(ConsoleDaemonKind daemon)
    {
        PeerPrograms.Require(requirePeersScripts: false, Xenconsole, "script");
        await using XenstoredPeer store = await XenstoredPeer.StartAsync();
        await using XenconsoledPeer console = await XenconsoledPeer.StartAsync(store, daemon: daemon);
        using ConsoleGuest guest = ConsoleGuest.Attach(console);

        var environment = new Dictionary<string, string>(store.ClientEnvironment)
        {
            ["LD_PRELOAD"] = store.ShimLibraryPath,
            ["XENSHIM_DIR"] = store.StateDirectory,
        };
        ProcessStartInfo start = PeerCommand.StartInfo("script", ["-qfec", $"{Xenconsole} {console.DomainId}", "/dev/null"], environment);
        using Process client = Process.Start(start) ?? throw new InvalidOperationException("script did not start");
        var screen = new StringBuilder();
        Task reader = Task.Run(async () =>
        {
            byte[] buffer = new byte[4096];
            int n;
            while ((n = await client.StandardOutput.BaseStream.ReadAsync(buffer)) > 0)
            {
                lock (screen)
                {
                    screen.Append(Encoding.Latin1.GetString(buffer, 0, n));
                }
            }
        });
        try
        {
            string Screen()
            {
                lock (screen)
                {
                    return screen.ToString();
                }
            }

            // Nothing says when xenconsole has opened the pty (it may flush what came before): the guest prints a line
            // now and then until one shows.
            await Deadline.RunAsync(async token =>
            {
                for (int line = 0; !Screen().Contains("hello from domain 5", StringComparison.Ordinal); line++)
                {
                    await guest.WriteAllAsync(Encoding.ASCII.GetBytes($"hello from domain 5 ({line})\r\n"));
                    await Task.Delay(Deadline.PollInterval * 10, token);
                }
            }, () => $"xenconsole did not show the guest's output; it shows: {Screen()}; daemon: {console.Output}");

            byte[] keys = "root\rls -l\r"u8.ToArray();
            await client.StandardInput.BaseStream.WriteAsync(keys);
            await client.StandardInput.BaseStream.FlushAsync();
            Assert.Equal(keys, await guest.ReadExactlyAsync(keys.Length));
        }
        finally
        {
            client.Kill(entireProcessTree: true);
            await client.WaitForExitAsync();
            await reader;
        }
    }
}
