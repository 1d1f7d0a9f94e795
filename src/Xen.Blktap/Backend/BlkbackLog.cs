using Microsoft.Extensions.Logging;

namespace Xen.Blktap.Backend;

/// <summary>The simulated blkback's log messages (event ids go on from the lifecycle's, which end at 15).</summary>
internal static partial class BlkbackLog
{
    [LoggerMessage(16, LogLevel.Warning, "Simulated blkback: scan failed; waiting for the next change")]
    public static partial void ScanFailed(ILogger logger, Exception error);
}
