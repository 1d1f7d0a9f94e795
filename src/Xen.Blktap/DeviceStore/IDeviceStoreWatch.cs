namespace Xen.Blktap.DeviceStore;

/// <summary>A watch: something at or below its path may have changed since the last event. Dispose to remove it.</summary>
public interface IDeviceStoreWatch : IAsyncDisposable
{
    /// <summary>Waits for the next event (events may be spurious: re-read what matters).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask WaitAsync(CancellationToken cancellationToken = default);
}
