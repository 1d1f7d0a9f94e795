using System.Net.Sockets;
using System.Text;

namespace Xen.Tool.Commands;

/// <summary>
/// systemd's readiness protocol (<c>sd_notify(3)</c>) for a <c>Type=notify</c> service: one datagram such as
/// <c>READY=1</c> to the Unix socket named by <c>NOTIFY_SOCKET</c> (a leading <c>@</c> means the abstract namespace).
/// Written out rather than taken from a hosting package: it is one send, and the tool stays free of a host builder.
/// </summary>
internal static class SystemdNotify
{
    public const string SocketVariable = "NOTIFY_SOCKET";

    /// <summary>
    /// Sends <paramref name="state"/> when the process runs under systemd, then unsets <c>NOTIFY_SOCKET</c> so that
    /// children do not notify in its name (as <c>sd_notify(1, ...)</c> does). False when there is no such socket.
    /// </summary>
    /// <exception cref="SocketException">The socket is named but does not take the datagram.</exception>
    public static bool Notify(string state)
    {
        string? path = Environment.GetEnvironmentVariable(SocketVariable);
        if (string.IsNullOrEmpty(path))
        {
            return false;
        }

        Environment.SetEnvironmentVariable(SocketVariable, null);
        string name = path[0] == '@' ? "\0" + path[1..] : path;
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.SendTo(Encoding.UTF8.GetBytes(state), new UnixDomainSocketEndPoint(name));
        return true;
    }
}
