using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xen.Blktap.DeviceStore;
using Xen.Store.Xenbus;

namespace Xen.Blktap.Backend;

/// <summary>
/// A block backend driver in miniature: it watches xenstore and takes every device under
/// <c>/local/domain/&lt;backdom&gt;/backend/{vbd,tap}</c> through the xenbus state machine as blkback and its
/// hotplug script would: a new device (Initialising, online) gets <c>hotplug-status</c> and goes to InitWait; it
/// goes to Connected when its frontend is Initialised or Connected; a device the toolstack set to Closing goes to
/// Closed. Nothing else is served: no rings, no I/O.
/// </summary>
/// <remarks>
/// Each change is made in a transaction that first reads the state it acts on, so a concurrent change by the
/// toolstack (a removal, a Closing) makes the commit conflict and the step is decided again on fresh state; a
/// removed backend is never written back into existence. Every watch event triggers a scan of all devices, which
/// makes spurious and dropped events harmless.
/// </remarks>
public sealed class SimulatedBlkback : IAsyncDisposable
{
    private readonly IDeviceStore _store;
    private readonly SimulatedBlkbackOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly IDeviceStoreWatch _watch;
    private readonly Task _loop;
    private int _faults;

    private SimulatedBlkback(IDeviceStore store, SimulatedBlkbackOptions options, ILogger logger, IDeviceStoreWatch watch)
    {
        _store = store;
        _options = options;
        _logger = logger;
        _watch = watch;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>How many scans failed (each is logged; the next event scans again).</summary>
    public int FaultCount => Volatile.Read(ref _faults);

    /// <summary>Starts serving; the first scan runs at once.</summary>
    public static async Task<SimulatedBlkback> StartAsync(IDeviceStore store, SimulatedBlkbackOptions? options = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        IDeviceStoreWatch watch = await store.WatchAsync("/local/domain", cancellationToken).ConfigureAwait(false);
        return new SimulatedBlkback(store, options ?? new SimulatedBlkbackOptions(), logger ?? NullLogger.Instance, watch);
    }

    /// <summary>Stops serving and removes the watch.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        try
        {
            await _watch.DisposeAsync().ConfigureAwait(false);
        }
        catch (BlktapException)
        {
        }
        catch (Xen.Store.XenStoreException)
        {
            // The connection is gone already.
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        CancellationToken token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await ScanAsync(token).ConfigureAwait(false);
                await _watch.WaitAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is Xen.Store.XenStoreException or BlktapException)
            {
                Interlocked.Increment(ref _faults);
                BlkbackLog.ScanFailed(_logger, e);
                try
                {
                    await _watch.WaitAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception again) when (again is Xen.Store.XenStoreException or System.Threading.Channels.ChannelClosedException)
                {
                    return;
                }
            }
        }
    }

    private async ValueTask ScanAsync(CancellationToken cancellationToken)
    {
        string root = string.Create(CultureInfo.InvariantCulture, $"/local/domain/{_options.BackendDomainId}/backend");
        foreach (string backendClass in new[] { "vbd", "tap" })
        {
            foreach (string domainId in await _store.ListAsync($"{root}/{backendClass}", cancellationToken).ConfigureAwait(false))
            {
                foreach (string deviceId in await _store.ListAsync($"{root}/{backendClass}/{domainId}", cancellationToken).ConfigureAwait(false))
                {
                    await StepAsync($"{root}/{backendClass}/{domainId}/{deviceId}", cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private ValueTask<bool> StepAsync(string backend, CancellationToken cancellationToken) =>
        _store.RunTransactionAsync(
            async (tx, token) =>
            {
                XenbusState? state = XenbusStateText.Parse(await tx.ReadAsync($"{backend}/state", token).ConfigureAwait(false));
                switch (state)
                {
                    case XenbusState.Initialising when _options.ReachInitWait
                        && await tx.ReadAsync($"{backend}/online", token).ConfigureAwait(false) == "1":
                        await tx.WriteAsync($"{backend}/hotplug-status", _options.HotplugStatus, token).ConfigureAwait(false);
                        if (_options.HotplugStatus != "connected")
                        {
                            await tx.WriteAsync($"{backend}/hotplug-error", _options.HotplugError, token).ConfigureAwait(false);
                        }

                        await tx.WriteAsync($"{backend}/state", XenbusStateText.Format(XenbusState.InitWait), token).ConfigureAwait(false);
                        return true;

                    case XenbusState.InitWait or XenbusState.Initialised:
                        string? frontend = await tx.ReadAsync($"{backend}/frontend", token).ConfigureAwait(false);
                        XenbusState? frontendState = frontend is null ? null
                            : XenbusStateText.Parse(await tx.ReadAsync($"{frontend}/state", token).ConfigureAwait(false));
                        if (frontendState is XenbusState.Initialised or XenbusState.Connected)
                        {
                            await tx.WriteAsync($"{backend}/state", XenbusStateText.Format(XenbusState.Connected), token).ConfigureAwait(false);
                            return true;
                        }

                        return false;

                    case XenbusState.Closing:
                        await tx.WriteAsync($"{backend}/state", XenbusStateText.Format(XenbusState.Closed), token).ConfigureAwait(false);
                        return true;

                    default:
                        return false;
                }
            },
            cancellationToken);
}
