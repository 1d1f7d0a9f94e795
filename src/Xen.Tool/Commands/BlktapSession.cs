using System.CommandLine;
using System.Globalization;
using System.Text;
using Xen.Blktap;
using Xen.Blktap.Host;
using Xen.Blktap.Lifecycle;
using Xen.Blktap.Model;
using Xen.Blktap.DeviceStore;
using Xen.Store;
using Xen.Store.Client;

namespace Xen.Tool.Commands;

/// <summary>
/// One run of a <c>xen blktap</c> command: the xenstore connection, the manager over it and the chosen host backend,
/// how a domain id becomes a <see cref="BlktapDomain"/>, and the messages and exit status.
/// </summary>
internal sealed class BlktapSession
{
    private readonly string _program;
    private readonly ITapBackend _host;

    private BlktapSession(string program, XenStoreDeviceStore store, ITapBackend host, BlktapDeviceManager manager, string? vmUuid, uint backendDomainId)
    {
        _program = program;
        Store = store;
        _host = host;
        Manager = manager;
        VmUuid = vmUuid;
        BackendDomainId = backendDomainId;
    }

    public XenStoreDeviceStore Store { get; }

    public BlktapDeviceManager Manager { get; }

    /// <summary>The <c>--vm</c> given, or null.</summary>
    public string? VmUuid { get; }

    public uint BackendDomainId { get; }

    public TextWriter Output { get; } = Console.Out;

    public static TextWriter Error => Console.Error;

    /// <summary>
    /// Builds the session from the options, connects and runs <paramref name="body"/>; every failure of the
    /// lifecycle, the store or the host becomes one line on standard error and status 1.
    /// </summary>
    public static async Task<int> RunAsync(ParseResult parseResult, BlktapOptions options, string command, Func<BlktapSession, Task<int>> body, CancellationToken cancellationToken)
    {
        string program = "xen blktap " + command;
        ITapBackend host;
        BlktapManagerOptions managerOptions;
        string? vmUuid = parseResult.GetValue(options.VmUuid);
        try
        {
            host = options.CreateHost(parseResult);
            managerOptions = options.CreateManagerOptions(parseResult);
            if (vmUuid is not null)
            {
                _ = new BlktapDomain(0, vmUuid);
            }
        }
        catch (ArgumentException e)
        {
            await Error.WriteLineAsync($"{program}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        string? socketPath = parseResult.GetValue(options.Socket);
        XenStoreClient client;
        try
        {
            client = await StoreRun.ConnectAsync(socketPath, null, cancellationToken).ConfigureAwait(false);
        }
        catch (XenStoreConnectionException e)
        {
            await Error.WriteLineAsync($"{program}: cannot connect to xenstored: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        await using (client.ConfigureAwait(false))
        {
            var store = new XenStoreDeviceStore(client);
            var session = new BlktapSession(program, store, host, new BlktapDeviceManager(store, host, managerOptions), vmUuid, parseResult.GetValue(options.BackendDomain));
            try
            {
                int status = await body(session).ConfigureAwait(false);
                await session.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                return status;
            }
            catch (BlktapException e)
            {
                session.Fail(e.Message);
                return 1;
            }
            catch (XenStoreException e)
            {
                session.Fail($"xenstore: {e.Message}");
                return 1;
            }
        }
    }

    /// <summary>A failure on standard error.</summary>
    public void Fail(string message) => Error.WriteLine($"{_program}: {message}");

    /// <summary>
    /// The domain with its vm uuid: <c>--vm</c>, else <c>/local/domain/&lt;domid&gt;/vm</c>, else the one <c>/vm</c>
    /// record whose devices name the domain as their frontend.
    /// </summary>
    /// <exception cref="BlktapException">No uuid is found (for create: give --vm), or several records claim the domain.</exception>
    public async Task<BlktapDomain> ResolveDomainAsync(uint domainId, bool forCreate, CancellationToken cancellationToken)
    {
        string? uuid = VmUuid;
        if (uuid is null)
        {
            string domainPath = string.Create(CultureInfo.InvariantCulture, $"/local/domain/{domainId}");
            string? vmPath = await Store.ReadAsync($"{domainPath}/vm", cancellationToken).ConfigureAwait(false);
            if (vmPath is not null && vmPath.StartsWith("/vm/", StringComparison.Ordinal) && BlktapDomain.IsUsableVmUuid(vmPath[4..]))
            {
                uuid = vmPath[4..];
            }
            else
            {
                List<string> claiming = [];
                foreach ((string recordUuid, uint recordDomain) in await DeviceRecordsAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (recordDomain == domainId && !claiming.Contains(recordUuid))
                    {
                        claiming.Add(recordUuid);
                    }
                }

                if (claiming.Count > 1)
                {
                    throw new BlktapException($"Device records of several vms name domain {domainId} ({string.Join(", ", claiming)}); give the right one with --vm UUID.");
                }

                uuid = claiming.Count == 1 ? claiming[0]
                    : forCreate ? throw new BlktapException($"Domain {domainId} has no {domainPath}/vm and no device record names it: give its vm uuid with --vm UUID.")
                    : throw new BlktapException($"Domain {domainId} has no block device records (no {domainPath}/vm, and no /vm record names it).");
            }
        }

        return new BlktapDomain(domainId, uuid, BackendDomainId);
    }

    /// <summary>Every domain that has a device record under <c>/vm</c>, by domain id.</summary>
    public async Task<IReadOnlyList<BlktapDomain>> AllDomainsAsync(CancellationToken cancellationToken)
    {
        var domains = new SortedDictionary<uint, BlktapDomain>();
        foreach ((string uuid, uint domainId) in await DeviceRecordsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!domains.ContainsKey(domainId))
            {
                domains.Add(domainId, new BlktapDomain(domainId, uuid, BackendDomainId));
            }
        }

        return [.. domains.Values];
    }

    /// <summary>Whether each tap minor is paused, from <c>tap-ctl list</c>; null when the host backend cannot tell or tap-ctl fails (the failure is named on standard error).</summary>
    public async Task<IReadOnlyDictionary<int, bool>?> TapPauseStatesAsync(CancellationToken cancellationToken)
    {
        if (_host is not TapCtlBackend tapCtl)
        {
            return null;
        }

        try
        {
            var states = new Dictionary<int, bool>();
            foreach (TapCtlListEntry entry in await tapCtl.ListEntriesAsync(cancellationToken).ConfigureAwait(false))
            {
                if (entry.Minor >= 0)
                {
                    states[entry.Minor] = (entry.State & TapdiskPausedFlag) != 0;
                }
            }

            return states;
        }
        catch (TapBackendException e)
        {
            Fail($"tap states unknown: {e.Message}");
            return null;
        }
    }

    /// <summary>tapdisk's state bit for a paused device, as <c>tap-ctl list</c> prints it.</summary>
    private const int TapdiskPausedFlag = 0x2;

    /// <summary>One line per result: successes on standard output, failures on standard error; status 1 when any failed.</summary>
    public async Task<int> ReportAsync(IReadOnlyList<DeviceOperationResult> results, string done)
    {
        int status = 0;
        foreach (DeviceOperationResult result in results.OrderBy(static r => r.DeviceId))
        {
            if (result.Succeeded)
            {
                await Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{result.DomainId} {VirtualDevice.ToName(result.DeviceId) ?? "?"} {result.DeviceId} {done}")).ConfigureAwait(false);
            }
            else
            {
                Fail(result.Error!.Message);
                status = 1;
            }
        }

        return status;
    }

    /// <summary>Rows as left-aligned columns separated by two spaces (the last column not padded).</summary>
    public static string Columns(IReadOnlyList<string[]> rows)
    {
        int columns = rows.Max(static r => r.Length);
        int[] widths = new int[columns];
        foreach (string[] row in rows)
        {
            for (int i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        var text = new StringBuilder();
        foreach (string[] row in rows)
        {
            for (int i = 0; i < row.Length; i++)
            {
                text.Append(i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>(vm uuid, frontend domain id) of every device record under <c>/vm/&lt;uuid&gt;/device/&lt;class&gt;/&lt;devid&gt;</c>.</summary>
    private async Task<List<(string Uuid, uint DomainId)>> DeviceRecordsAsync(CancellationToken cancellationToken)
    {
        var records = new List<(string, uint)>();
        foreach (string uuid in await Store.ListAsync("/vm", cancellationToken).ConfigureAwait(false))
        {
            if (!BlktapDomain.IsUsableVmUuid(uuid))
            {
                continue;
            }

            foreach (DeviceClass cls in DeviceClasses.All)
            {
                string classPath = $"/vm/{uuid}/device/{cls.Name()}";
                foreach (string deviceId in await Store.ListAsync(classPath, cancellationToken).ConfigureAwait(false))
                {
                    string? frontendId = await Store.ReadAsync($"{classPath}/{deviceId}/frontend-id", cancellationToken).ConfigureAwait(false);
                    if (uint.TryParse(frontendId, NumberStyles.None, CultureInfo.InvariantCulture, out uint domainId))
                    {
                        records.Add((uuid, domainId));
                    }
                }
            }
        }

        return records;
    }
}
