using System.Runtime.InteropServices;

namespace Xen.Tool.Commands;

/// <summary>
/// Cancels a token source when one of the given signals arrives, instead of the runtime's default of ending the
/// process, so a command can finish its clean-up (save state, remove a socket, restore the terminal). Dispose to stop
/// listening.
/// </summary>
internal sealed class SignalStop : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;

    public SignalStop(CancellationTokenSource stop, params PosixSignal[] signals)
    {
        ArgumentNullException.ThrowIfNull(stop);
        _registrations = [.. signals.Select(signal => PosixSignalRegistration.Create(signal, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        }))];
    }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }
    }
}
