namespace Xen.Store.Wire;

/// <summary>The access letter of a xenstore permission.</summary>
public enum XsAccess
{
    /// <summary><c>n</c>: no access.</summary>
    None,

    /// <summary><c>r</c>: read.</summary>
    Read,

    /// <summary><c>w</c>: write.</summary>
    Write,

    /// <summary><c>b</c>: both read and write.</summary>
    Both,
}
