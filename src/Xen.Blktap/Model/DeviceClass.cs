namespace Xen.Blktap.Model;

/// <summary>The device class a block device is recorded under (<c>/vm/&lt;uuid&gt;/device/&lt;class&gt;</c>).</summary>
public enum DeviceClass
{
    /// <summary><c>vbd</c>: a plain blkback device (<c>phy:</c>, <c>file:</c>).</summary>
    Vbd,

    /// <summary><c>tap</c>: a blktap1 device, served by blktap's own backend (<c>backend/tap</c>).</summary>
    Tap,

    /// <summary><c>tap2</c>: a blktap2 device: a tapdisk's block device served by a plain vbd backend.</summary>
    Tap2,
}
