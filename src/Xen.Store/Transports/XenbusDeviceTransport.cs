using Microsoft.Win32.SafeHandles;
using Xen.Store.Wire;

namespace Xen.Store.Transports;

/// <summary>
/// The xenbus character device (<c>/dev/xen/xenbus</c>, or <c>/proc/xen/xenbus</c> on old kernels), through which
/// a domain without the daemon's socket (a guest, or a dom0 whose xenstored runs elsewhere) speaks xenstore.
/// The kernel driver wants each message in one <c>write</c>: the client hands over whole messages, possibly several
/// at once, and this transport writes each of them with a <c>write</c> of its own.
/// </summary>
public sealed class XenbusDeviceTransport : IXenStoreTransport
{
    private readonly SafeFileHandle _handle;

    private XenbusDeviceTransport(SafeFileHandle handle, string path)
    {
        _handle = handle;
        Description = $"device:{path}";
    }

    /// <summary>The device paths libxenstore tries, in order.</summary>
    public static IReadOnlyList<string> DefaultPaths { get; } = ["/dev/xen/xenbus", "/proc/xen/xenbus"];

    /// <inheritdoc/>
    public string Description { get; }

    /// <summary>Opens the device at <paramref name="path"/>.</summary>
    /// <exception cref="XenStoreConnectionException">The device is missing or cannot be opened.</exception>
    public static XenbusDeviceTransport Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return new XenbusDeviceTransport(File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite), path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new XenStoreConnectionException($"Cannot open the xenbus device {path}: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public ValueTask SendAsync(ReadOnlyMemory<byte> messages, CancellationToken cancellationToken = default)
    {
        while (!messages.IsEmpty)
        {
            if (XsFrameReader.Read(messages.Span, out XsHeader header) != XsFrameStatus.Frame)
            {
                throw new ArgumentException("The xenbus device takes whole messages of at most 4096 payload bytes.", nameof(messages));
            }

            RandomAccess.Write(_handle, messages.Span[..header.FrameLength], 0);
            messages = messages[header.FrameLength..];
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        await Task.Run(() => RandomAccess.Read(_handle, buffer.Span, 0), cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _handle.Dispose();
        return ValueTask.CompletedTask;
    }
}
