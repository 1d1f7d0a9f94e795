namespace Xen.Rings.Host;

/// <summary>A grant operation's status (<c>GNTST_*</c> in <c>xen/grant_table.h</c>).</summary>
public enum GrantCopyStatus : short
{
    /// <summary><c>GNTST_okay</c>.</summary>
    Okay = 0,

    /// <summary><c>GNTST_general_error</c>.</summary>
    GeneralError = -1,

    /// <summary><c>GNTST_bad_domain</c>.</summary>
    BadDomain = -2,

    /// <summary><c>GNTST_bad_gntref</c>.</summary>
    BadGrantRef = -3,

    /// <summary><c>GNTST_bad_handle</c>.</summary>
    BadHandle = -4,

    /// <summary><c>GNTST_bad_virt_addr</c>.</summary>
    BadVirtualAddress = -5,

    /// <summary><c>GNTST_bad_dev_addr</c>.</summary>
    BadDeviceAddress = -6,

    /// <summary><c>GNTST_no_device_space</c>.</summary>
    NoDeviceSpace = -7,

    /// <summary><c>GNTST_permission_denied</c>.</summary>
    PermissionDenied = -8,

    /// <summary><c>GNTST_bad_page</c>.</summary>
    BadPage = -9,

    /// <summary><c>GNTST_bad_copy_arg</c>.</summary>
    BadCopyArgument = -10,

    /// <summary><c>GNTST_address_too_big</c>.</summary>
    AddressTooBig = -11,

    /// <summary><c>GNTST_eagain</c>.</summary>
    Again = -12,

    /// <summary><c>GNTST_no_space</c>.</summary>
    NoSpace = -13,
}
