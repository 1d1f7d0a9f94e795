using Xen.Store.Transports;
using Xen.Store.Wire;

namespace Xen.Store.Client;

// Reconnection (XenStoreClientOptions.Reconnect): after a broken connection, waiting requests fail (the daemon may or
// may not have carried them out), a new transport is opened with backoff, and every watch is registered again after a
// gap marker, so its consumer knows events may have been missed. Transactions of the old connection end with it
// (XenStoreTransaction compares Generation).
public sealed partial class XenStoreClient
{
    private async Task ReconnectAsync(IXenStoreTransport broken, int generation, Exception failure)
    {
        ClientLog.ConnectionLost(_logger, broken.Description, failure.Message);
        Fail(new XenStoreConnectionException($"Connection to {broken.Description} lost; reconnecting: {failure.Message}", failure), endWatches: false, permanent: false);
        await broken.DisposeAsync().ConfigureAwait(false);
        TimeSpan delay = _options.ReconnectDelay;
        for (int attempt = 1; attempt <= _options.ReconnectAttempts && !_closing.IsCancellationRequested; attempt++)
        {
            try
            {
                await Task.Delay(delay, _closing.Token).ConfigureAwait(false);
                IXenStoreTransport transport = await _reconnect!(_closing.Token).ConfigureAwait(false);
                // The generation first: from here a transaction of the old connection counts as ended, so none of its
                // requests reaches the new connection, whose daemon would not know its id.
                Volatile.Write(ref _generation, generation + 1);
                _requests.Replace(transport);
                _receiveLoop = StartReceiveLoop(transport, generation + 1);
                foreach (XenStoreWatch w in _watches.Snapshot())
                {
                    // The gap first, so a consumer sees it before anything the new registration delivers (its initial event).
                    _watches.PostGap(w);
                    await RequestOkAsync(XsMessageType.Watch, 0, WatchArguments(w), default, w.Path, _closing.Token).ConfigureAwait(false);
                }

                _metrics.Reconnected();
                ClientLog.Reconnected(_logger, transport.Description, attempt, _watches.Snapshot().Length);
                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (XenStoreException e)
            {
                ClientLog.ReconnectFailed(_logger, broken.Description, attempt, _options.ReconnectAttempts, e.Message);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }

        ClientLog.GaveUp(_logger, broken.Description, _options.ReconnectAttempts);
        Fail(new XenStoreConnectionException($"Connection to {broken.Description} lost and not re-established after {_options.ReconnectAttempts} attempts: {failure.Message}", failure), endWatches: true);
    }
}
