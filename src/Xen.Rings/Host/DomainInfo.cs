namespace Xen.Rings.Host;

/// <summary>
/// A domain's state as the hypervisor reports it (<c>xc_domaininfo_t</c>: its id and <c>XEN_DOMINF_*</c> flags).
/// </summary>
/// <param name="DomainId">The domain id.</param>
/// <param name="Flags">The raw <c>XEN_DOMINF_*</c> flags.</param>
public readonly record struct DomainInfo(uint DomainId, uint Flags)
{
    /// <summary><c>XEN_DOMINF_dying</c>: scheduled to die; xenstored releases it.</summary>
    public bool IsDying => (Flags & (1u << 0)) != 0;

    /// <summary><c>XEN_DOMINF_hvm_guest</c>.</summary>
    public bool IsHvm => (Flags & (1u << 1)) != 0;

    /// <summary><c>XEN_DOMINF_shutdown</c>: the guest shut down (<see cref="ShutdownReason"/> says how).</summary>
    public bool IsShutdown => (Flags & (1u << 2)) != 0;

    /// <summary><c>XEN_DOMINF_paused</c>.</summary>
    public bool IsPaused => (Flags & (1u << 3)) != 0;

    /// <summary><c>XEN_DOMINF_blocked</c>.</summary>
    public bool IsBlocked => (Flags & (1u << 4)) != 0;

    /// <summary><c>XEN_DOMINF_running</c>.</summary>
    public bool IsRunning => (Flags & (1u << 5)) != 0;

    /// <summary><c>XEN_DOMINF_xs_domain</c>: this domain is the xenstore domain.</summary>
    public bool IsXenStoreDomain => (Flags & (1u << 7)) != 0;

    /// <summary>The guest's <c>SHUTDOWN_*</c> code (bits 16-23: poweroff 0, reboot 1, suspend 2, crash 3, watchdog 4, soft reset 5).</summary>
    public uint ShutdownReason => (Flags >> 16) & 0xFF;
}
