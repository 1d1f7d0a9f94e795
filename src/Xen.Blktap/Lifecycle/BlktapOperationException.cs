using Xen.Blktap.Model;

namespace Xen.Blktap.Lifecycle;

/// <summary>
/// A lifecycle operation on one device failed. <see cref="Step"/> names where; the inner exception says why. A
/// failed create has undone what it did; <see cref="UndoError"/> is set when that undo failed as well.
/// </summary>
public sealed class BlktapOperationException : BlktapException
{
    /// <summary>Creates the exception with no message.</summary>
    public BlktapOperationException() { }

    /// <summary>Creates the exception with a message.</summary>
    public BlktapOperationException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public BlktapOperationException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for a failed step.</summary>
    public BlktapOperationException(string message, BlktapStep step, uint domainId, int deviceId, DeviceClass? deviceClass, Exception innerException, Exception? undoError = null)
        : base(message, innerException)
    {
        Step = step;
        DomainId = domainId;
        DeviceId = deviceId;
        DeviceClass = deviceClass;
        UndoError = undoError;
    }

    /// <summary>The step that failed.</summary>
    public BlktapStep Step { get; }

    /// <summary>The guest domain.</summary>
    public uint DomainId { get; }

    /// <summary>The device id (the device number).</summary>
    public int DeviceId { get; }

    /// <summary>The device class, when it was known.</summary>
    public DeviceClass? DeviceClass { get; }

    /// <summary>Why undoing a failed create failed too (something may be left behind), or null.</summary>
    public Exception? UndoError { get; }
}
