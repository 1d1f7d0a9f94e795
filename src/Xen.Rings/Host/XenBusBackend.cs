using System.Globalization;
using System.Text;
using Xen.Rings.Host.Native;

namespace Xen.Rings.Host;

/// <summary>
/// Dom0's own xenstore connection as the Linux kernel offers it to the xenstore daemon: the kernel's page
/// (<c>/proc/xen/xsd_kva</c>, a <c>struct xenstore_domain_interface</c> to map) and the local end of its event channel
/// (<c>/proc/xen/xsd_port</c>, a port number in text). C xenstored reads both at start, maps the page, and serves the
/// kernel over it as domain 0's ring connection.
/// </summary>
/// <remarks>
/// Both files are opened through libc's <c>open</c> in the global symbol scope, so an interposed <c>open</c> (the
/// LD_PRELOAD stand-in hypervisor of a machine without Xen) redirects them for this process as it does for C
/// xenstored.
/// </remarks>
public static unsafe class XenBusBackend
{
    /// <summary>The kernel's xenstore page.</summary>
    public const string InterfacePath = "/proc/xen/xsd_kva";

    /// <summary>The kernel's end of the xenstore event channel.</summary>
    public const string PortPath = "/proc/xen/xsd_port";

    /// <summary>
    /// Reads the event channel port the kernel's xenstore connection uses (a number in <paramref name="path"/>, as
    /// <c>strtoul(s, NULL, 0)</c> reads it: decimal, <c>0x</c> hex or <c>0</c> octal).
    /// </summary>
    /// <exception cref="XenHostException">The file could not be opened or read (no Xen, or not dom0).</exception>
    /// <exception cref="InvalidDataException">The file does not hold a port number.</exception>
    public static uint ReadPort(string path = PortPath)
    {
        int fd = OpenFile(path, LibC.ORdOnly);
        byte* buffer = stackalloc byte[20];
        nint count;
        try
        {
            count = LibC.Read(fd, buffer, 19);
            if (count < 0)
            {
                throw XenHostException.FromLastError($"read({path})");
            }
        }
        finally
        {
            _ = LibC.Close(fd);
        }

        string text = Encoding.ASCII.GetString(buffer, (int)count).Trim();
        if (!TryParsePort(text, out uint port))
        {
            throw new InvalidDataException($"{path} holds '{text}', not an event channel port.");
        }

        return port;
    }

    /// <summary>Maps the kernel's xenstore page (one page, read-write, shared), to unmap by disposing it.</summary>
    /// <exception cref="XenHostException">The file could not be opened or mapped.</exception>
    public static MappedPages MapInterface(string path = InterfacePath)
    {
        int fd = OpenFile(path, LibC.ORdWr);
        try
        {
            nint address = LibC.Mmap(0, MappedPages.PageSize, LibC.ProtRead | LibC.ProtWrite, LibC.MapShared, fd, 0);
            if (address == LibC.MapFailed)
            {
                throw XenHostException.FromLastError($"mmap({path})");
            }

            // The mapping outlives the descriptor, as in C xenstored, which closes it at once.
            return new MappedPages(null, address, 1, 0, [], static (_, a, n) => LibC.Munmap(a, (nuint)(n * MappedPages.PageSize)));
        }
        finally
        {
            _ = LibC.Close(fd);
        }
    }

    /// <summary>Opens one of the kernel's files (close-on-exec, so a child never holds it).</summary>
    /// <exception cref="XenHostException">It could not be opened.</exception>
    private static int OpenFile(string path, int flags)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        XenLibrary.Require(XenLibrary.C);
        int fd = LibC.Open(path, flags | LibC.OCloExec);
        return fd >= 0 ? fd : throw XenHostException.FromLastError($"open({path})");
    }

    private static bool TryParsePort(string text, out uint port)
    {
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return uint.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out port);
        }

        if (text.Length > 1 && text[0] == '0')
        {
            port = 0;
            foreach (char c in text.AsSpan(1))
            {
                if (c is < '0' or > '7' || port > uint.MaxValue / 8)
                {
                    return false;
                }

                port = (port * 8) + (uint)(c - '0');
            }

            return true;
        }

        return uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port);
    }
}
