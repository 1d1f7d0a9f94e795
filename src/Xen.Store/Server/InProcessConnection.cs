using Xen.Store.Transports;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// A connection over an asynchronous byte stream, served on the thread pool: an in-process pipe (any domain, for
/// tests and hosts).
/// </summary>
#pragma warning disable CA1001 // the token source is cancelled on close and needs no disposal (it has no timer)
internal sealed class InProcessConnection : ByteStreamConnection
#pragma warning restore CA1001
{
    private readonly IXenStoreTransport _io;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public InProcessConnection(IStoreEngine engine, IXenStoreTransport io, uint domainId, int maxQueued)
        : base(engine, domainId, io.Description, maxQueued) => _io = io;

    public override Task Completion => _loop;

    public override string Kind => "in-process";

    /// <summary>Starts serving.</summary>
    public void Start() => _loop = Task.Run(RunAsync);

    protected override void StartDrain() => _ = Task.Run(DrainAsync);

    protected override void OnClosed() =>
        ThreadPool.UnsafeQueueUserWorkItem(static s => ((CancellationTokenSource)s!).Cancel(), _stop);

    private async Task RunAsync()
    {
        byte[] buffer = new byte[XsHeader.MessageMax * 4];
        int filled = 0;
        try
        {
            while (!IsClosed)
            {
                int n = await _io.ReceiveAsync(buffer.AsMemory(filled), _stop.Token).ConfigureAwait(false);
                if (!Received(buffer, ref filled, n))
                {
                    break;
                }

                if (ClaimDrain())
                {
                    await DrainAsync().ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            Close(e.Message);
        }
        finally
        {
            Engine.Detach(this);
            await _io.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task DrainAsync()
    {
        try
        {
            while (TakeBatch())
            {
                await _io.SendAsync(Batch, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            DrainFailed(e);
        }
    }
}
