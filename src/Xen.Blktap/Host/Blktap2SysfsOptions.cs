namespace Xen.Blktap.Host;

/// <summary>Where <see cref="Blktap2SysfsBackend"/> finds the kernel's files and <c>tapdisk2</c>.</summary>
public sealed class Blktap2SysfsOptions
{
    /// <summary>The proc file system (<c>/proc</c>); <c>devices</c> under it says whether blktap2 is loaded.</summary>
    public string ProcRoot { get; init; } = "/proc";

    /// <summary>The sysfs root (<c>/sys</c>); the driver's controls are under <c>class/blktap2/blktap&lt;N&gt;</c>.</summary>
    public string SysRoot { get; init; } = "/sys";

    /// <summary>The device root (<c>/dev</c>); tap devices are <c>xen/blktap-2/tapdev&lt;N&gt;</c> under it.</summary>
    public string DevRoot { get; init; } = "/dev";

    /// <summary>The <c>tapdisk2</c> program.</summary>
    public string Tapdisk2Path { get; init; } = "/usr/sbin/tapdisk2";
}
