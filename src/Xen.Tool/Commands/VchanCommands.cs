using System.CommandLine;
using System.Runtime.InteropServices;
using Xen.Rings;
using Xen.Rings.Host;
using Xen.Rings.Vchan;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Vchan;

namespace Xen.Tool.Commands;

/// <summary>
/// <c>xen vchan serve|connect DOMID PATH</c>: one end of a vchan to domain DOMID, published at the xenstore directory
/// PATH, piped to standard input and output (what <c>vchan-socket-proxy [-m server|client] DOMID PATH -</c> does).
/// </summary>
/// <remarks>
/// <para>
/// <c>serve</c> shares the rings with DOMID, publishes <c>PATH/ring-ref</c> and <c>PATH/event-channel</c>, waits for the
/// client, and removes PATH when it ends. <c>connect</c> waits for a server of domain DOMID to publish at PATH (a
/// xenstore watch, as <c>vchan-socket-proxy</c>'s client; <c>--timeout</c> bounds the wait) and connects.
/// </para>
/// <para>
/// Both copy standard input into the vchan and the vchan to standard output. The session ends with status 0 when the
/// peer closes or dies (after what it wrote has been copied out), at the end of standard input (once all of it is in
/// the ring; then this end closes), or on SIGINT/SIGTERM. A failure (no xenstore, Xen refusing a grant or port, a
/// corrupted ring, a timeout) is a message on standard error and status 1.
/// </para>
/// </remarks>
internal static class VchanCommands
{
    private const int ChunkBytes = 64 * 1024;

    public static Command Create()
    {
        var command = new Command("vchan", "A vchan (libxenvchan's byte stream between two domains) piped to standard input and output, as vchan-socket-proxy DOMID PATH - does.");
        command.Subcommands.Add(CreateServe());
        command.Subcommands.Add(CreateConnect());
        return command;
    }

    private static Command CreateServe()
    {
        (Argument<uint> domid, Argument<string> path, Option<string?> socket) = Common("The client's domain id: the only domain that may connect.");
        var leftMin = new Option<int>("--read-min")
        {
            Description = "The least size in bytes of the ring this end reads (client to server, 'left'); up to 1048576.",
            DefaultValueFactory = _ => 0,
            HelpName = "BYTES",
        };
        var rightMin = new Option<int>("--write-min")
        {
            Description = "The least size in bytes of the ring this end writes (server to client, 'right'); up to 1048576.",
            DefaultValueFactory = _ => 0,
            HelpName = "BYTES",
        };
        var command = new Command("serve", "Share a vchan with DOMID at PATH (ring-ref, event-channel), wait for it to connect, and pipe standard input and output through it; PATH is removed at the end.");
        command.Arguments.Add(domid);
        command.Arguments.Add(path);
        command.Options.Add(socket);
        command.Options.Add(leftMin);
        command.Options.Add(rightMin);
        command.SetAction((parse, token) => RunAsync("xen vchan serve", parse.GetValue(socket), null, async (store, cancel) =>
        {
            VchanStream stream = await VchanServer.ListenAsync(store, parse.GetValue(domid), parse.GetValue(path)!, parse.GetValue(leftMin), parse.GetValue(rightMin), cancel).ConfigureAwait(false);
            try
            {
                await stream.WaitForConnectionAsync(cancel).ConfigureAwait(false);
            }
            catch
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            return stream;
        }, token));
        return command;
    }

    private static Command CreateConnect()
    {
        (Argument<uint> domid, Argument<string> path, Option<string?> socket) = Common("The server's domain id.");
        var timeout = new Option<double?>("--timeout", "-t")
        {
            Description = "Give up (status 1) when no server has published at PATH after this many seconds; by default wait until one does.",
            HelpName = "SECONDS",
        };
        var command = new Command("connect", "Connect to the vchan domain DOMID publishes at PATH (waiting for it to appear) and pipe standard input and output through it.");
        command.Arguments.Add(domid);
        command.Arguments.Add(path);
        command.Options.Add(socket);
        command.Options.Add(timeout);
        command.SetAction((parse, token) => RunAsync("xen vchan connect", parse.GetValue(socket), parse.GetValue(timeout),
            (store, cancel) => VchanClient.ConnectWhenPublishedAsync(store, parse.GetValue(domid), parse.GetValue(path)!, cancel), token));
        return command;
    }

    private static (Argument<uint> DomainId, Argument<string> Path, Option<string?> Socket) Common(string domidDescription) =>
        (new Argument<uint>("domid") { Description = domidDescription },
         new Argument<string>("path") { Description = "The vchan's xenstore directory, e.g. /local/domain/1/data/vchan/2/5000 (Qubes' convention: server, client, port)." },
         StoreSocketOption.CreateWithPath());

    private static async Task<int> RunAsync(string program, string? socketPath, double? timeoutSeconds, Func<XenStoreClient, CancellationToken, ValueTask<VchanStream>> open, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var signals = new SignalStop(stop, PosixSignal.SIGTERM, PosixSignal.SIGINT);
        VchanStream stream;
        XenStoreClient store;
        try
        {
            store = await StoreRun.ConnectAsync(socketPath, null, stop.Token).ConfigureAwait(false);
        }
        catch (XenStoreException e)
        {
            await Console.Error.WriteLineAsync($"{program}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        await using (store.ConfigureAwait(false))
        {
            using var opening = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            if (timeoutSeconds is double seconds)
            {
                opening.CancelAfter(TimeSpan.FromSeconds(seconds));
            }

            try
            {
                stream = await open(store, opening.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return 0;
            }
            catch (OperationCanceledException)
            {
                await Console.Error.WriteLineAsync($"{program}: no vchan server published in {timeoutSeconds} s").ConfigureAwait(false);
                return 1;
            }
            catch (Exception e) when (e is XenStoreException or XenHostException or RingCorruptedException or InvalidDataException or IOException or DllNotFoundException or ArgumentException)
            {
                await Console.Error.WriteLineAsync($"{program}: {e.Message}").ConfigureAwait(false);
                return 1;
            }

            await using (stream.ConfigureAwait(false))
            {
                return await PipeAsync(program, stream, stop).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Standard input into the vchan, the vchan to standard output, until either side ends.</summary>
    private static async Task<int> PipeAsync(string program, VchanStream stream, CancellationTokenSource stop)
    {
        Stream stdin = Console.OpenStandardInput();
        Stream stdout = Console.OpenStandardOutput();
        Task input = CopyInputAsync(stdin, stream, stop.Token);
        Task output = CopyOutputAsync(stream, stdout, stop.Token);
        try
        {
            // Standard input cannot be cancelled, so the session never waits for a read of it to end: when the peer
            // closes (output done) or a signal arrives, the process leaves the input task behind.
            await Task.WhenAny(input, output).ConfigureAwait(false);
            if (output.IsCompleted)
            {
                await output.ConfigureAwait(false);
            }
            else
            {
                await input.ConfigureAwait(false); // all of standard input is in the ring: close this end
            }

            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
        catch (IOException) when (!stream.IsPeerOpen)
        {
            return 0; // the peer went away while this end was writing: the session is over, as for vchan-socket-proxy
        }
        catch (Exception e) when (e is RingCorruptedException or IOException or ObjectDisposedException)
        {
            await Console.Error.WriteLineAsync($"{program}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task CopyInputAsync(Stream stdin, VchanStream stream, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[ChunkBytes];
        int n;
        while ((n = await stdin.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) != 0)
        {
            await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task CopyOutputAsync(VchanStream stream, Stream stdout, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[ChunkBytes];
        int n;
        while ((n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) != 0)
        {
            await stdout.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
