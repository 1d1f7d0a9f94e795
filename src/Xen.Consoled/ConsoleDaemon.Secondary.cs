using System.Globalization;
using Xen.Store;
using Xen.Store.Wire;
using Xen.Store.Xenbus;

namespace Xen.Consoled;

/// <summary>
/// A domain's other PV consoles, <c>device/console/N</c>, served as a xenbus back end (what QEMU does for the ones
/// whose <c>type</c> is <c>ioemu</c>; this daemon serves those whose <c>type</c> is <c>xenconsoled</c>). The toolstack
/// writes the back end (<c>/local/domain/0/backend/console/&lt;domid&gt;/N</c>: <c>frontend</c>, <c>state</c>) and the
/// front end; the daemon answers InitWait; once the guest's front end has written <c>ring-ref</c> (a grant) and
/// <c>port</c> and is Initialised, the daemon maps and binds them, makes a pty, publishes it as the front end's
/// <c>tty</c> (where <c>xenconsole --num N</c> looks) and goes Connected; when the front end closes it lets the console
/// go and goes Closed.
/// </summary>
public sealed partial class ConsoleDaemon
{
    private const string SecondaryTokenPrefix = "secondary";

    private static string BackendDirectory(uint domainId) => string.Create(CultureInfo.InvariantCulture, $"{XsPath.DomainPath(0)}/backend/console/{domainId}");

    private async Task WatchSecondariesAsync(DomainEntry entry)
    {
        string token = string.Create(CultureInfo.InvariantCulture, $"{SecondaryTokenPrefix}{entry.DomainId}");
        entry.SecondaryWatch = await _store.WatchAsync(BackendDirectory(entry.DomainId), token).ConfigureAwait(false);
        entry.FrontendWatch = await _store.WatchAsync($"{XsPath.DomainPath(entry.DomainId)}/device/console", token).ConfigureAwait(false);
        Forward(entry.SecondaryWatch, token);
        Forward(entry.FrontendWatch, token);
    }

    /// <summary>Walks the domain's secondary console back ends and moves each along the xenbus handshake.</summary>
    private async Task SetUpSecondariesAsync(DomainEntry entry)
    {
        string backendDirectory = BackendDirectory(entry.DomainId);
        IReadOnlyList<string> devices;
        try
        {
            devices = await _store.DirectoryAsync(backendDirectory).ConfigureAwait(false);
        }
        catch (XenStoreErrorException e) when (e.Error == XsError.ENOENT)
        {
            return;
        }

        foreach (string device in devices)
        {
            string backend = $"{backendDirectory}/{device}";
            string? frontend = await _store.TryReadStringAsync($"{backend}/frontend").ConfigureAwait(false);
            if (frontend is null || frontend == entry.Console.XenStorePath || device == "0")
            {
                continue; // the first console, served through console/ as xenconsoled does
            }

            if (await _store.TryReadStringAsync($"{frontend}/type").ConfigureAwait(false) != "xenconsoled")
            {
                continue; // QEMU's (ioemu), or not written yet
            }

            await StepAsync(entry, device, backend, frontend).ConfigureAwait(false);
        }
    }

    private async Task StepAsync(DomainEntry entry, string device, string backend, string frontend)
    {
        XenbusState backendState = ParseState(await _store.TryReadStringAsync($"{backend}/state").ConfigureAwait(false));
        XenbusState frontendState = ParseState(await _store.TryReadStringAsync($"{frontend}/state").ConfigureAwait(false));
        GuestConsole? console;
        lock (_gate)
        {
            entry.Secondaries.TryGetValue(device, out console);
        }

        if (frontendState is XenbusState.Closing or XenbusState.Closed)
        {
            if (console is not null)
            {
                lock (_gate)
                {
                    Release(console);
                    entry.Secondaries.Remove(device);
                }

                _terminals.Wake();
            }

            if (backendState != XenbusState.Closed)
            {
                await SetStateAsync(backend, XenbusState.Closed).ConfigureAwait(false);
            }

            return;
        }

        if (backendState is XenbusState.Unknown or XenbusState.Initialising or XenbusState.Closed)
        {
            await SetStateAsync(backend, XenbusState.InitWait).ConfigureAwait(false); // ready for the front end's details
            backendState = XenbusState.InitWait;
        }

        if (frontendState is not (XenbusState.Initialised or XenbusState.Connected) || (console is not null && console.IsServed))
        {
            return;
        }

        string? ringRefText = await _store.TryReadStringAsync($"{frontend}/ring-ref").ConfigureAwait(false);
        string? portText = await _store.TryReadStringAsync($"{frontend}/port").ConfigureAwait(false);
        if (ringRefText is null || portText is null || !TryParseLeadingNumber(ringRefText, out uint ringRef) || !TryParseLeadingNumber(portText, out uint port))
        {
            return;
        }

        string? limitText = await _store.TryReadStringAsync($"{frontend}/limit").ConfigureAwait(false);
        string? terminalPath;
        lock (_gate)
        {
            if (console is null || console.IsClosed)
            {
                console = new GuestConsole(entry.DomainId, frontend, new ConsoleBuffer(0, _options.Overflow == ConsoleOverflow.Discard)) { RingRefIsGrant = true };
                entry.Secondaries[device] = console;
            }

            if (!MapAndBind(console, ringRef, port) || !EnsureTerminal(console, limitText, out terminalPath))
            {
                return;
            }

            console.MarkConnected();
        }

        if (terminalPath is not null)
        {
            await _store.WriteAsync($"{frontend}/tty", terminalPath).ConfigureAwait(false);
        }

        await SetStateAsync(backend, XenbusState.Connected).ConfigureAwait(false);
        Log.Served(_logger, entry.DomainId, port, terminalPath);
        _terminals.Wake();
    }

    private Task SetStateAsync(string backend, XenbusState state) =>
        _store.WriteAsync($"{backend}/state", ((int)state).ToString(CultureInfo.InvariantCulture)).AsTask();

    private static XenbusState ParseState(string? text) =>
        text is not null && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && Enum.IsDefined((XenbusState)value)
            ? (XenbusState)value
            : XenbusState.Unknown;
}
