using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using Xen.Rings.Vchan;
using Xen.Store.Client;
using Xen.Store.Vchan;

namespace Xen.Benchmarks.Infrastructure;

/// <summary>
/// <c>vchan-peer</c>: our end of a vchan with the command line, modes and output of <c>tests/native/vchan_peer.c</c>
/// (libxenvchan's end), so <see cref="VchanFigures"/> starts and reads either the same way. This program re-launched
/// under the shim as one domain, using <see cref="VchanServer.ListenAsync"/> or
/// <see cref="VchanClient.ConnectWhenPublishedAsync"/> and then only <see cref="VchanStream.ReadAsync(Memory{byte}, CancellationToken)"/>
/// and <see cref="VchanStream.WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/> (their <c>TryRead</c>/<c>TryWrite</c>
/// fast path, waiting only when one returns 0), as a user would.
/// </summary>
/// <remarks>
/// <c>vchan-peer server|client PEER_DOMID XS_PATH READ_MIN WRITE_MIN MODE [ARG]</c>, xenstore at <c>XENSTORED_PATH</c>;
/// modes <c>echo</c>, <c>ping COUNT</c>, <c>send BYTES</c>, <c>sink BYTES</c> as there, and the same exit statuses. It
/// also prints <c>cpu US</c>: this process's CPU time from connected to done, which leaves out the runtime's start.
/// </remarks>
internal static class VchanPeer
{
    public const string Command = "vchan-peer";

    private const int BufferBytes = 1 << 20; // vchan_peer.c's buffer
    private const int PeerClosedEarly = 4;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not [("server" or "client") and var role, var peerText, var path, var readMinText, var writeMinText, var mode, .. var rest] || rest.Length > 1)
        {
            await Console.Error.WriteLineAsync($"usage: {Command} server|client PEER PATH READ_MIN WRITE_MIN echo|ping|send|sink [ARG]").ConfigureAwait(false);
            return 2;
        }

        uint peer = uint.Parse(peerText, CultureInfo.InvariantCulture);
        long arg = rest.Length == 1 ? long.Parse(rest[0], CultureInfo.InvariantCulture) : 0;
        string socket = Environment.GetEnvironmentVariable("XENSTORED_PATH")
            ?? throw new InvalidOperationException("XENSTORED_PATH is not set: the vchan figures start this mode with it.");
        await using XenStoreClient store = await XenStoreDaemons.ConnectAsync(socket).ConfigureAwait(false);
        VchanStream stream;
        if (role == "server")
        {
            stream = await VchanServer.ListenAsync(store, peer, path, int.Parse(readMinText, CultureInfo.InvariantCulture), int.Parse(writeMinText, CultureInfo.InvariantCulture)).ConfigureAwait(false);
            await stream.WaitForConnectionAsync().ConfigureAwait(false);
        }
        else
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10)); // vchan_peer.c's client retries for 10 s
            stream = await VchanClient.ConnectWhenPublishedAsync(store, peer, path, wait.Token).ConfigureAwait(false);
        }

        await using (stream.ConfigureAwait(false))
        {
            await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{role}: read ring 2^{BitOperations.Log2((uint)stream.ReadRingSize)}, write ring 2^{BitOperations.Log2((uint)stream.WriteRingSize)}")).ConfigureAwait(false);
            TimeSpan cpu0 = Environment.CpuUsage.TotalTime;
            int status = mode switch
            {
                "echo" => await EchoAsync(stream).ConfigureAwait(false),
                "ping" => await PingAsync(stream, arg).ConfigureAwait(false),
                "send" => await SendAsync(stream, arg).ConfigureAwait(false),
                "sink" => await SinkAsync(stream, arg).ConfigureAwait(false),
                _ => 2,
            };
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cpu {(Environment.CpuUsage.TotalTime - cpu0).TotalMicroseconds:F0}"));
            return status;
        }
    }

    /// <summary>Writes back everything read until the peer closes.</summary>
    private static async Task<int> EchoAsync(VchanStream stream)
    {
        byte[] buffer = new byte[BufferBytes];
        int n;
        while ((n = await stream.ReadAsync(buffer).ConfigureAwait(false)) != 0)
        {
            try
            {
                await stream.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
            }
            catch (IOException) when (!stream.IsPeerOpen)
            {
                return 0;
            }
        }

        return 0;
    }

    /// <summary><paramref name="count"/> 1-byte round trips; prints <c>ping COUNT NS_PER_ROUND_TRIP</c>.</summary>
    private static async Task<int> PingAsync(VchanStream stream, long count)
    {
        byte[] one = [(byte)'x'];
        var clock = Stopwatch.StartNew();
        try
        {
            for (long i = 0; i < count; i++)
            {
                await stream.WriteAsync(one).ConfigureAwait(false);
                if (await stream.ReadAsync(one).ConfigureAwait(false) != 1)
                {
                    return PeerClosedEarly;
                }
            }
        }
        catch (IOException)
        {
            return PeerClosedEarly;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ping {count} {(long)(clock.Elapsed.TotalNanoseconds / Math.Max(count, 1))}"));
        return 0;
    }

    /// <summary>Sends <paramref name="byteCount"/> zeros, then waits for one byte back; prints <c>send BYTES NS</c>.</summary>
    private static async Task<int> SendAsync(VchanStream stream, long byteCount)
    {
        byte[] buffer = new byte[BufferBytes];
        var clock = Stopwatch.StartNew();
        try
        {
            for (long sent = 0; sent < byteCount;)
            {
                int n = (int)Math.Min(byteCount - sent, buffer.Length);
                await stream.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                sent += n;
            }

            if (await stream.ReadAsync(buffer.AsMemory(0, 1)).ConfigureAwait(false) != 1)
            {
                return PeerClosedEarly;
            }
        }
        catch (IOException)
        {
            return PeerClosedEarly;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"send {byteCount} {(long)clock.Elapsed.TotalNanoseconds}"));
        return 0;
    }

    /// <summary>Reads <paramref name="byteCount"/> bytes, then writes one back.</summary>
    private static async Task<int> SinkAsync(VchanStream stream, long byteCount)
    {
        byte[] buffer = new byte[BufferBytes];
        try
        {
            for (long got = 0; got < byteCount;)
            {
                int n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(byteCount - got, buffer.Length))).ConfigureAwait(false);
                if (n == 0)
                {
                    return PeerClosedEarly;
                }

                got += n;
            }

            await stream.WriteAsync(buffer.AsMemory(0, 1)).ConfigureAwait(false);
        }
        catch (IOException)
        {
            return PeerClosedEarly;
        }

        return 0;
    }
}
