using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// Builds <c>tests/native/xs_guest.c</c> (copied next to the test assembly under <c>native/</c>) with gcc against
/// Xen's public headers, once per test run, into a temporary directory removed when the run ends.
/// </summary>
internal static class NativeGuest
{
    /// <summary>The header the program is written against (from libxen-dev).</summary>
    public const string XsWireHeader = "/usr/include/xen/io/xs_wire.h";

    private static readonly Lazy<Task<string>> s_built = new(BuildAsync);

    /// <summary>The path of the built <c>xs_guest</c>.</summary>
    /// <exception cref="PeerUnavailableException">gcc or the header is missing.</exception>
    /// <exception cref="InvalidOperationException">It does not compile (the message quotes gcc).</exception>
    public static Task<string> XsGuestAsync() => s_built.Value;

    private static async Task<string> BuildAsync()
    {
        PeerPrograms.Require(requirePeersScripts: false, "gcc", XsWireHeader);
        string source = Path.Combine(AppContext.BaseDirectory, "native", "xs_guest.c");
        if (!File.Exists(source))
        {
            throw new InvalidOperationException($"{source} is missing: the project copies tests/native/xs_guest.c into its output; rebuild it.");
        }

        string directory = Directory.CreateTempSubdirectory("xen-interop-native-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        string executable = Path.Combine(directory, "xs_guest");
        await PeerCommand.RunCheckedAsync("gcc", ["-O2", "-Wall", "-Wextra", "-Werror", "-o", executable, source]);
        return executable;
    }
}
