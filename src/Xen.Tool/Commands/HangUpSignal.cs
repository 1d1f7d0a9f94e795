using System.Runtime.InteropServices;
using Xen.Rings.Host.Native;

namespace Xen.Tool.Commands;

/// <summary>
/// SIGHUP as the daemons take it (log rotation: reopen the trace or the guest logs), also when the process was started
/// with SIGHUP ignored (<c>nohup</c>, a shell or init that ignores it): the runtime leaves a signal that is ignored when
/// it is registered ignored (measured: <c>nohup xen store serve -T FILE</c> did not reopen FILE on SIGHUP), where C
/// xenstored and xenconsoled install their handler whatever they inherited. So the disposition goes back to the default
/// first, as theirs does by installing one.
/// </summary>
internal static class HangUpSignal
{
    /// <summary>Runs <paramref name="reopen"/> on each SIGHUP (which then no longer ends or is ignored by the process).</summary>
    public static PosixSignalRegistration Register(Action reopen)
    {
        if (OperatingSystem.IsLinux())
        {
            _ = LibC.Signal(LibC.SigHup, LibC.SigDfl);
        }

        return PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            reopen();
        });
    }
}
