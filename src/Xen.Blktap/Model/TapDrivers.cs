namespace Xen.Blktap.Model;

/// <summary>
/// The tap drivers a toolstack accepts, and the subset blktap2 serves. A <c>tap:</c> disk whose driver is in
/// <see cref="Blktap2"/> becomes a blktap2 (<c>tap2</c>) device when the blktap2 driver is present; every other
/// known driver, or any driver when blktap2 is absent, falls back to blktap1 (<c>tap</c>).
/// </summary>
public static class TapDrivers
{
    /// <summary>Every driver a <c>tap:</c>/<c>tap2:</c> disk may name, in the order error messages list them.</summary>
    public static IReadOnlyList<string> Known { get; } = ["aio", "sync", "vmdk", "ram", "qcow", "qcow2", "vhd", "ioemu", "tapdisk"];

    /// <summary>The drivers blktap2's tapdisk2 serves.</summary>
    public static IReadOnlyList<string> Blktap2 { get; } = ["aio", "ram", "qcow", "vhd"];

    /// <summary>Whether <paramref name="driver"/> is one of <see cref="Known"/> (case-sensitive, as blktap is).</summary>
    public static bool IsKnown(string? driver) => driver is not null && Known.Contains(driver, StringComparer.Ordinal);

    /// <summary>Whether <paramref name="driver"/> is one of <see cref="Blktap2"/>.</summary>
    public static bool IsBlktap2(string? driver) => driver is not null && Blktap2.Contains(driver, StringComparer.Ordinal);
}
