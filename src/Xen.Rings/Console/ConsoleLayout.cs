namespace Xen.Rings.Console;

/// <summary>
/// The layout of <c>struct xencons_interface</c> (<c>xen/io/console.h</c>): one 4 KiB page shared by a
/// guest and its console backend.
/// </summary>
/// <remarks>
/// <code>
/// offset  size  field
///      0  1024  in[]        backend -> guest (keyboard input)
///   1024  2048  out[]       guest -> backend (console output)
///   3072     4  in_cons     written by the guest
///   3076     4  in_prod     written by the backend
///   3080     4  out_cons    written by the backend
///   3084     4  out_prod    written by the guest
///   3088     1  connection  Xen 4.21+: 0 connected, 1 disconnected (written by the backend)
/// </code>
/// </remarks>
public static class ConsoleLayout
{
    /// <summary>The size of the page the interface lives in.</summary>
    public const int PageSize = 4096;

    /// <summary>Offset of <c>in[]</c>.</summary>
    public const int InOffset = 0;

    /// <summary>Size of <c>in[]</c> in bytes.</summary>
    public const int InSize = 1024;

    /// <summary>Offset of <c>out[]</c>.</summary>
    public const int OutOffset = 1024;

    /// <summary>Size of <c>out[]</c> in bytes.</summary>
    public const int OutSize = 2048;

    /// <summary>Offset of <c>in_cons</c>.</summary>
    public const int InConsOffset = 3072;

    /// <summary>Offset of <c>in_prod</c>.</summary>
    public const int InProdOffset = 3076;

    /// <summary>Offset of <c>out_cons</c>.</summary>
    public const int OutConsOffset = 3080;

    /// <summary>Offset of <c>out_prod</c>.</summary>
    public const int OutProdOffset = 3084;

    /// <summary>Offset of the Xen 4.21 <c>connection</c> byte.</summary>
    public const int ConnectionOffset = 3088;

    /// <summary>The bytes of the structure up to and including <c>out_prod</c> (the pre-4.21 <c>sizeof</c>).</summary>
    public const int InterfaceSizeWithoutConnection = 3088;

    /// <summary><c>connection</c> value: the backend is connected.</summary>
    public const byte Connected = 0;

    /// <summary><c>connection</c> value: the backend is not connected.</summary>
    public const byte Disconnected = 1;

    internal static void CheckPage(int length, string paramName)
    {
        if (length < ConnectionOffset + 1)
        {
            ThrowHelper.ThrowArgument(
                $"A console page needs at least {ConnectionOffset + 1} bytes (normally {PageSize}); this one has {length}.", paramName);
        }
    }
}
