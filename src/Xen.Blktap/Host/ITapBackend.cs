namespace Xen.Blktap.Host;

/// <summary>
/// The host side of blktap: starts tapdisks and manages their tap devices. <see cref="Blktap2SysfsBackend"/> drives
/// the blktap2 kernel driver through <c>tapdisk2</c> and sysfs; <see cref="TapCtlBackend"/> drives blktap 3 and
/// later through <c>tap-ctl</c>; <see cref="SimulatedTapBackend"/> keeps devices in memory.
/// </summary>
/// <remarks>Implementations are safe to call from several threads at once. Failures are <see cref="TapBackendException"/>.</remarks>
public interface ITapBackend
{
    /// <summary>A short name for logs (<c>blktap2-sysfs</c>, <c>tap-ctl</c>, ...).</summary>
    string Name { get; }

    /// <summary>Whether blktap2 can serve devices here; when not, tap disks fall back to blktap1.</summary>
    ValueTask<bool> IsBlktap2PresentAsync(CancellationToken cancellationToken = default);

    /// <summary>Starts a tapdisk for <paramref name="driver"/>:<paramref name="file"/> and returns its device.</summary>
    ValueTask<TapDevice> CreateAsync(string driver, string file, CancellationToken cancellationToken = default);

    /// <summary>Pauses the device of minor <paramref name="minor"/>.</summary>
    ValueTask PauseAsync(int minor, CancellationToken cancellationToken = default);

    /// <summary>Resumes the device of minor <paramref name="minor"/>.</summary>
    ValueTask UnpauseAsync(int minor, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stops the tapdisk of minor <paramref name="minor"/> and frees the device. Returns false, doing nothing, when
    /// there is no such device (it was released already), so a retried teardown is safe.
    /// </summary>
    ValueTask<bool> ReleaseAsync(int minor, CancellationToken cancellationToken = default);

    /// <summary>The devices that exist now.</summary>
    ValueTask<IReadOnlyList<TapDevice>> ListAsync(CancellationToken cancellationToken = default);
}
