using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Xen.Rings.Host.Native;

/// <summary>
/// The libc calls the host bindings make themselves, bound in the global scope like Xen's libraries (so that an
/// interposed <c>open</c> of <c>/proc/xen/xsd_kva</c> is seen, as by C xenstored), and the few a daemon needs to leave its
/// parent (<c>setsid</c>, <c>dup2</c>, <c>fcntl</c>), and the <c>execv</c> of a live update.
/// </summary>
internal static unsafe partial class LibC
{
    public const int ProtRead = 0x1;
    public const int ProtWrite = 0x2;
    public const int MapShared = 0x01;
    public const int ORdOnly = 0x0;
    public const int ORdWr = 0x2;
    public const int OCloExec = 0x80000;
    public const short PollIn = 0x1;
    public const short PollErr = 0x8;
    public const short PollHup = 0x10;
    public const short PollNVal = 0x20;
    public const int EIntr = 4;
    public const int EAgain = 11;
    public const nint MapFailed = -1;

    [LibraryImport(XenLibrary.C, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport(XenLibrary.C, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(XenLibrary.C, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport(XenLibrary.C, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport(XenLibrary.C, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint address, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(XenLibrary.C, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint address, nuint length);

    [LibraryImport(XenLibrary.C, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport(XenLibrary.C, EntryPoint = "setsid", SetLastError = true)]
    public static partial int Setsid();

    [LibraryImport(XenLibrary.C, EntryPoint = "dup2", SetLastError = true)]
    public static partial int Dup2(int oldFd, int newFd);

    public const int FSetFd = 2;
    public const int FdCloExec = 1;

    [LibraryImport(XenLibrary.C, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    /// <summary><c>execv</c>: replaces the process (a live update's new daemon); returns only on failure.</summary>
    [LibraryImport(XenLibrary.C, EntryPoint = "execv", SetLastError = true)]
    public static partial int Execv(byte* path, byte** argv);

    [LibraryImport(XenLibrary.C, EntryPoint = "pipe2", SetLastError = true)]
    public static partial int Pipe2(int* fds, int flags);

    /// <summary><c>SIGHUP</c>.</summary>
    public const int SigHup = 1;

    /// <summary><c>SIG_DFL</c>: a signal's default disposition.</summary>
    public const nint SigDfl = 0;

    /// <summary><c>signal</c>: sets a signal's disposition (here only back to <see cref="SigDfl"/>); returns the previous one.</summary>
    [LibraryImport(XenLibrary.C, EntryPoint = "signal", SetLastError = true)]
    public static partial nint Signal(int signal, nint handler);

    /// <summary><c>RLIMIT_NOFILE</c> (7 on x86-64, arm64 and the other architectures with Linux's generic resource numbers).</summary>
    public const int RLimitNoFile = 7;

    /// <summary><c>getrlimit</c>; <paramref name="limits"/> points at a <c>struct rlimit</c>: the soft, then the hard limit, each a <c>rlim_t</c> (64 bits).</summary>
    [LibraryImport(XenLibrary.C, EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int GetRLimit(int resource, ulong* limits);

    public const int MsgDontWait = 0x40;
    public const int MsgNoSignal = 0x4000;
    public const int ShutRdWr = 2;
    public const int FDupFdCloExec = 1030;
    public const uint EpollOut = 0x004;

    public const int SockNonBlock = 0x800;
    public const int SockCloExec = 0x80000;

    // The socket calls take the descriptor as its SafeHandle: the marshaller holds a reference for the call, so a
    // descriptor closed on another thread meanwhile is never reached by its number (given to a new connection by then);
    // a handle already closed throws ObjectDisposedException before the call.

    [LibraryImport(XenLibrary.C, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(SafeHandle fd, byte* buffer, nuint count, int flags);

    [LibraryImport(XenLibrary.C, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(SafeHandle fd, byte* buffer, nuint count, int flags);

    [LibraryImport(XenLibrary.C, EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(SafeHandle fd, int how);

    /// <summary><c>accept4</c> with no peer address (a Unix socket's client has none worth keeping).</summary>
    [LibraryImport(XenLibrary.C, EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(SafeHandle listenerFd, nint address, nint addressLength, int flags);

    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const int EpollCtlMod = 3;
    public const uint EpollIn = 0x001;
    public const uint EpollRdHup = 0x2000;
    public const uint EpollOneShot = 1u << 30;

    [LibraryImport(XenLibrary.C, EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    /// <summary><c>epoll_ctl</c>; <paramref name="events"/> points at one <c>struct epoll_event</c> (<see cref="EpollEvent"/>).</summary>
    [LibraryImport(XenLibrary.C, EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epollFd, int operation, int fd, byte* events);

    /// <summary><c>epoll_ctl</c> on a descriptor held by its SafeHandle (see the socket calls).</summary>
    [LibraryImport(XenLibrary.C, EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epollFd, int operation, SafeHandle fd, byte* events);

    /// <summary><c>epoll_wait</c> into <paramref name="events"/>, room for <paramref name="count"/> <see cref="EpollEvent"/>s.</summary>
    [LibraryImport(XenLibrary.C, EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epollFd, byte* events, int count, int timeoutMilliseconds);

    /// <summary>
    /// <c>struct epoll_event</c> (<c>uint32_t events; uint64_t data</c>), which is packed (12 bytes) on x86 and x86-64
    /// and naturally aligned (16 bytes) on the other architectures, so it is read and written at the offsets given here.
    /// </summary>
    public static class EpollEvent
    {
        private static readonly bool Packed = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;

        public static readonly int Size = Packed ? 12 : 16;

        public static void Write(byte* at, uint events, ulong data)
        {
            *(uint*)at = events;
            Unsafe.WriteUnaligned(at + (Packed ? 4 : 8), data);
        }

        public static ulong Data(byte* at) => Unsafe.ReadUnaligned<ulong>(at + (Packed ? 4 : 8));
    }

    /// <summary><c>struct pollfd</c>: the same 8 bytes on every Linux architecture.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }
}
