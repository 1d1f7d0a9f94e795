namespace Xen.TestSupport.Peers;

/// <summary>
/// Where the real Xen programs and the shared peer scripts (<c>../shared/peers</c>) are, and a check that fails
/// with one message naming everything that is missing.
/// </summary>
/// <remarks>
/// The peers folder is <c>$XEN_PEERS_DIR</c> when set, otherwise <c>shared/peers</c> in the parent folder of the
/// repository root (the folder holding <c>Xen.Protocols.sln</c>). The programs come from Debian 12's packages
/// (see <c>PEERS.md</c> in the peers folder). With <c>XEN_PROTOCOLS_CI=1</c> CI has promised them, and the
/// message says so; without it the tests fail too (xunit 2 has no dynamic skip), with the command that
/// installs them and the filter that leaves the interop tests out.
/// </remarks>
public static class PeerPrograms
{
    /// <summary>The environment variable that overrides the peers folder.</summary>
    public const string PeersDirectoryVariable = "XEN_PEERS_DIR";

    /// <summary>The environment variable CI sets to promise that every peer is installed.</summary>
    public const string CiVariable = "XEN_PROTOCOLS_CI";

    /// <summary>Where Debian installs the real Xen daemons (the <c>/usr/sbin</c> wrappers refuse to run without Xen).</summary>
    public const string XenToolsDirectory = "/usr/lib/xen-4.17/bin";

    /// <summary>The C xenstored.</summary>
    public const string Xenstored = XenToolsDirectory + "/xenstored";

    /// <summary>The OCaml xenstored.</summary>
    public const string Oxenstored = XenToolsDirectory + "/oxenstored";

    /// <summary>The console backend daemon.</summary>
    public const string Xenconsoled = XenToolsDirectory + "/xenconsoled";

    /// <summary>libxenstore's read CLI.</summary>
    public const string XenstoreRead = "/usr/bin/xenstore-read";

    /// <summary>libxenstore's write CLI.</summary>
    public const string XenstoreWrite = "/usr/bin/xenstore-write";

    /// <summary>
    /// This project's <c>xen</c> tool (<c>src/Xen.Tool</c>), built into the test output by the project reference and
    /// run with <c>dotnet</c>: <c>xen store serve</c> is the embedded xenstored as a daemon.
    /// </summary>
    public static string XenTool => Path.Combine(AppContext.BaseDirectory, "xen.dll");

    /// <summary>The header the shim is compiled against (from libxen-dev).</summary>
    public const string XenctrlHeader = "/usr/include/xenctrl.h";

    /// <summary>The Debian packages that provide every program the interop tests run.</summary>
    public const string InstallCommand =
        "apt-get install -y --no-install-recommends xen-utils-4.17 xen-utils-common xenstore-utils libxenstore4 libxen-dev gcc libc6-dev systemd";

    private static readonly Lazy<(string? Path, string Tried)> s_peersDirectory = new(LocatePeersDirectory);

    /// <summary>Whether CI has promised the peers (<c>XEN_PROTOCOLS_CI=1</c>).</summary>
    public static bool IsCi => Environment.GetEnvironmentVariable(CiVariable) == "1";

    /// <summary>The peers folder.</summary>
    /// <exception cref="PeerUnavailableException">It was not found.</exception>
    public static string PeersDirectory
    {
        get
        {
            Require(requirePeersScripts: true);
            return s_peersDirectory.Value.Path!;
        }
    }

    /// <summary>The script that starts a real xenstored under the shim.</summary>
    public static string RunXenstoredScript => Path.Combine(PeersDirectory, "run_xenstored.sh");

    /// <summary>
    /// Checks that the peers folder and the named programs exist; throws one exception naming all that are missing.
    /// </summary>
    /// <param name="requirePeersScripts">Whether the peers folder (its scripts and the shim source) is needed.</param>
    /// <param name="programs">Absolute paths, or names looked up on <c>PATH</c>.</param>
    /// <exception cref="PeerUnavailableException">Something is missing.</exception>
    public static void Require(bool requirePeersScripts, params string[] programs)
    {
        var missing = new List<string>();
        if (requirePeersScripts)
        {
            (string? path, string tried) = s_peersDirectory.Value;
            if (path is null)
            {
                missing.Add($"the peers folder (tried {tried}; set {PeersDirectoryVariable} to override)");
            }
            else
            {
                foreach (string file in new[] { "run_xenstored.sh", "xenstored_shim.c" })
                {
                    if (!File.Exists(Path.Combine(path, file)))
                    {
                        missing.Add(Path.Combine(path, file));
                    }
                }
            }
        }

        foreach (string program in programs)
        {
            if (FindProgram(program) is null)
            {
                missing.Add(program);
            }
        }

        if (missing.Count == 0)
        {
            return;
        }

        string why = IsCi
            ? $"{CiVariable}=1 promises them (.ci/run installs them)."
            : $"Install the programs as root with: apt-get update && {InstallCommand}; the peers folder is shared/peers "
              + $"beside the clone, or wherever {PeersDirectoryVariable} says (see PEERS.md there). "
              + "To leave the interop tests out: dotnet test --filter Category!=Interop.";
        throw new PeerUnavailableException($"The interop tests need real Xen programs that are missing: {string.Join("; ", missing)}. {why}");
    }

    /// <summary>Resolves <paramref name="program"/>: an absolute path if the file exists, else the first match on <c>PATH</c>.</summary>
    public static string? FindProgram(string program)
    {
        if (Path.IsPathRooted(program))
        {
            return File.Exists(program) ? program : null;
        }

        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static (string? Path, string Tried) LocatePeersDirectory()
    {
        string? overridden = Environment.GetEnvironmentVariable(PeersDirectoryVariable);
        if (!string.IsNullOrEmpty(overridden))
        {
            string full = Path.GetFullPath(overridden);
            return (Directory.Exists(full) ? full : null, $"{PeersDirectoryVariable}={full}");
        }

        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Xen.Protocols.sln")))
            {
                string candidate = Path.Combine(dir.Parent?.FullName ?? "/", "shared", "peers");
                return (Directory.Exists(candidate) ? candidate : null, candidate);
            }
        }

        return (null, $"../shared/peers beside the repository root (no Xen.Protocols.sln above {AppContext.BaseDirectory})");
    }
}
