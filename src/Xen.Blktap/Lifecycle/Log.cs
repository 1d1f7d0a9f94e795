using Microsoft.Extensions.Logging;

namespace Xen.Blktap.Lifecycle;

/// <summary>The lifecycle's log messages (structured: domain, device, class, step).</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Domain {DomainId} device {DeviceId} ({VirtualDevice}, {Spec}): class {DeviceClass} (blktap2 present: {Blktap2Present})")]
    public static partial void ClassChosen(ILogger logger, uint domainId, int deviceId, string virtualDevice, string spec, string deviceClass, bool blktap2Present);

    [LoggerMessage(2, LogLevel.Information, "Domain {DomainId} device {DeviceId}: tap device {TapDevice} started through {Backend}")]
    public static partial void TapStarted(ILogger logger, uint domainId, int deviceId, string tapDevice, string backend);

    [LoggerMessage(3, LogLevel.Debug, "Domain {DomainId} device {DeviceId}: wrote {BackendPath}, {FrontendPath} and {VmDevicePath}")]
    public static partial void NodesWritten(ILogger logger, uint domainId, int deviceId, string backendPath, string frontendPath, string vmDevicePath);

    [LoggerMessage(4, LogLevel.Information, "Domain {DomainId} device {DeviceId}: backend ready ({State}, hotplug-status {HotplugStatus})")]
    public static partial void BackendReady(ILogger logger, uint domainId, int deviceId, string state, string hotplugStatus);

    [LoggerMessage(5, LogLevel.Error, "Domain {DomainId} device {DeviceId}: {Operation} failed at {Step}")]
    public static partial void StepFailed(ILogger logger, Exception error, uint domainId, int deviceId, string operation, BlktapStep step);

    [LoggerMessage(6, LogLevel.Information, "Domain {DomainId} device {DeviceId}: undid a failed create (nodes removed: {NodesRemoved}, tap device released: {TapReleased})")]
    public static partial void Undone(ILogger logger, uint domainId, int deviceId, bool nodesRemoved, bool tapReleased);

    [LoggerMessage(7, LogLevel.Error, "Domain {DomainId} device {DeviceId}: undoing a failed create failed; something may be left behind")]
    public static partial void UndoFailed(ILogger logger, Exception error, uint domainId, int deviceId);

    [LoggerMessage(8, LogLevel.Debug, "Domain {DomainId} device {DeviceId}: backend {BackendPath} asked to close")]
    public static partial void ShutdownRequested(ILogger logger, uint domainId, int deviceId, string backendPath);

    [LoggerMessage(9, LogLevel.Debug, "Domain {DomainId} device {DeviceId}: backend closed and its nodes removed")]
    public static partial void NodesRemoved(ILogger logger, uint domainId, int deviceId);

    [LoggerMessage(10, LogLevel.Information, "Domain {DomainId} device {DeviceId}: tap device {TapDevice} released (it existed: {Existed})")]
    public static partial void TapReleased(ILogger logger, uint domainId, int deviceId, string tapDevice, bool existed);

    [LoggerMessage(11, LogLevel.Information, "Domain {DomainId} device {DeviceId} ({DeviceClass}) destroyed")]
    public static partial void Destroyed(ILogger logger, uint domainId, int deviceId, string deviceClass);

    [LoggerMessage(12, LogLevel.Information, "Domain {DomainId} device {DeviceId}: tap device {TapDevice} {Action}")]
    public static partial void PauseChanged(ILogger logger, uint domainId, int deviceId, string tapDevice, string action);

    [LoggerMessage(13, LogLevel.Warning, "Domain {DomainId} device {DeviceId}: {Action} of tap device failed; the other devices go on")]
    public static partial void PauseFailed(ILogger logger, Exception error, uint domainId, int deviceId, string action);

    [LoggerMessage(14, LogLevel.Information, "Domain {DomainId} device {DeviceId} ({DeviceClass}, {Spec}) created")]
    public static partial void Created(ILogger logger, uint domainId, int deviceId, string deviceClass, string spec);

    [LoggerMessage(15, LogLevel.Information, "Domain {DomainId}: released {Released} devices, {Failed} failed")]
    public static partial void TornDown(ILogger logger, uint domainId, int released, int failed);
}
