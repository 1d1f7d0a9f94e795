using System.Runtime.InteropServices;
using Xen.Consoled.Native;

namespace Xen.Consoled;

/// <summary>
/// A console's pseudo-terminal, made as xenconsoled makes it: a master this daemon reads and writes without blocking,
/// and a slave (the path published as <c>console/tty</c>, which <c>xenconsole</c> opens) in raw mode, kept open by the
/// daemon for the console's life so the master does not fail with EIO whenever no client is attached.
/// </summary>
internal sealed unsafe class PseudoTerminal : IDisposable
{
    private int _master;
    private int _slave;

    private PseudoTerminal(int master, int slave, string slavePath)
    {
        _master = master;
        _slave = slave;
        SlavePath = slavePath;
    }

    /// <summary>The slave's path (<c>/dev/pts/N</c>).</summary>
    public string SlavePath { get; }

    /// <summary>The master's descriptor, for the poll loop.</summary>
    public int MasterDescriptor => _master;

    /// <summary>Opens a new pair (<c>openpty</c>), sets the slave raw (<c>cfmakeraw</c>) and the master non-blocking.</summary>
    /// <exception cref="IOException">A call failed (the message names it and the errno).</exception>
    public static PseudoTerminal Open()
    {
        int master = LibC.PosixOpenPt(LibC.ORdWr | LibC.ONoCtty | LibC.OCloExec);
        if (master < 0)
        {
            throw Failure("posix_openpt");
        }

        int slave = -1;
        try
        {
            if (LibC.GrantPt(master) != 0)
            {
                throw Failure("grantpt");
            }

            if (LibC.UnlockPt(master) != 0)
            {
                throw Failure("unlockpt");
            }

            byte* name = stackalloc byte[128];
            if (LibC.PtsNameR(master, name, 128) != 0)
            {
                throw Failure("ptsname_r");
            }

            string path = Marshal.PtrToStringUTF8((nint)name)!;
            slave = LibC.Open(name, LibC.ORdWr | LibC.ONoCtty | LibC.OCloExec);
            if (slave < 0)
            {
                throw Failure($"open({path})");
            }

            byte* termios = stackalloc byte[LibC.TermiosBytes];
            if (LibC.TcGetAttr(slave, termios) != 0)
            {
                throw Failure("tcgetattr");
            }

            LibC.CfMakeRaw(termios);
            if (LibC.TcSetAttr(slave, LibC.TcsaNow, termios) != 0)
            {
                throw Failure("tcsetattr");
            }

            int flags = LibC.Fcntl(master, LibC.FGetFl, 0);
            if (flags < 0 || LibC.Fcntl(master, LibC.FSetFl, flags | LibC.ONonBlock) < 0)
            {
                throw Failure("fcntl(O_NONBLOCK)");
            }

            return new PseudoTerminal(master, slave, path);
        }
        catch
        {
            if (slave >= 0)
            {
                _ = LibC.Close(slave);
            }

            _ = LibC.Close(master);
            throw;
        }
    }

    /// <summary>Reads what the client typed, without blocking.</summary>
    /// <returns>Bytes read; 0 when nothing is there now; -1 when the master failed (errno in <paramref name="errno"/>).</returns>
    public int Read(Span<byte> buffer, out int errno)
    {
        errno = 0;
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = LibC.Read(_master, p, (nuint)buffer.Length);
                if (n >= 0)
                {
                    return (int)n;
                }

                errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EIntr)
                {
                    continue;
                }

                return errno == LibC.EAgain ? 0 : -1;
            }
        }
    }

    /// <summary>Writes guest output to the client, without blocking.</summary>
    /// <returns>Bytes written; 0 when the terminal's buffer is full; -1 when the master failed (errno in <paramref name="errno"/>).</returns>
    public int Write(ReadOnlySpan<byte> buffer, out int errno)
    {
        errno = 0;
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = LibC.Write(_master, p, (nuint)buffer.Length);
                if (n >= 0)
                {
                    return (int)n;
                }

                errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EIntr)
                {
                    continue;
                }

                return errno == LibC.EAgain ? 0 : -1;
            }
        }
    }

    public void Dispose()
    {
        int master = Interlocked.Exchange(ref _master, -1);
        if (master >= 0)
        {
            _ = LibC.Close(master);
            _ = LibC.Close(Interlocked.Exchange(ref _slave, -1));
        }
    }

    private static IOException Failure(string call)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call} failed: errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})");
    }
}
