using Xen.Store.Xenbus;

namespace Xen.Blktap.Lifecycle;

/// <summary>A device did not reach the state waited for in time; <see cref="LastState"/> is what was seen last.</summary>
public sealed class DeviceTimeoutException : BlktapException
{
    /// <summary>Creates the exception with no message.</summary>
    public DeviceTimeoutException() { }

    /// <summary>Creates the exception with a message.</summary>
    public DeviceTimeoutException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public DeviceTimeoutException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for a wait on <paramref name="path"/>.</summary>
    public DeviceTimeoutException(string message, string path, XenbusState? lastState, string? lastHotplugStatus)
        : base(message)
    {
        Path = path;
        LastState = lastState;
        LastHotplugStatus = lastHotplugStatus;
    }

    /// <summary>The backend path waited on.</summary>
    public string? Path { get; }

    /// <summary>The backend state seen last (null: no state node).</summary>
    public XenbusState? LastState { get; }

    /// <summary>The <c>hotplug-status</c> seen last (null: none).</summary>
    public string? LastHotplugStatus { get; }
}
