namespace Xen.Blktap.Host;

/// <summary>How <see cref="TapCtlBackend"/> finds <c>tap-ctl</c> and decides whether blktap2 is present.</summary>
public sealed class TapCtlOptions
{
    /// <summary>The <c>tap-ctl</c> program.</summary>
    public string TapCtlPath { get; init; } = "/usr/sbin/tap-ctl";

    /// <summary>The proc file system (<c>/proc</c>).</summary>
    public string ProcRoot { get; init; } = "/proc";

    /// <summary>
    /// The kernel driver whose line in <c>/proc/devices</c> says blktap is usable (<c>blktap2</c>); null for a
    /// blktap with no kernel driver (userspace only), which is always present.
    /// </summary>
    public string? KernelDriverName { get; init; } = "blktap2";
}
