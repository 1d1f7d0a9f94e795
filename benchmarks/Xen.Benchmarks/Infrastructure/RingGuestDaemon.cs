using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Benchmarks.Infrastructure;

/// <summary>
/// A xenstore daemon started by the peers' <c>run_xenstored.sh</c> (C xenstored, or ours as the drop-in daemon: no
/// <c>--peer-dir</c>, guests through Xen's libraries under the shim) with one guest introduced: <c>xs_guest --bench</c>
/// (<c>tests/native/xs_guest.c</c>) as domain <see cref="DomainId"/>, talking to it over its xenstore ring and the
/// shim's event channels, and told over its stdin how many requests to send.
/// </summary>
internal sealed class RingGuestDaemon : IDisposable
{
    /// <summary>The guest's domain id.</summary>
    public const uint DomainId = 5;

    /// <summary>The guest's event channel port, given in INTRODUCE.</summary>
    public const uint Port = 9;

    /// <summary>What the guest writes to <c>data/b</c> (32 bytes), and so what its READs return.</summary>
    public const string Value = "0123456789abcdef0123456789ABCDEF";

    private readonly string _directory;
    private readonly int _daemonPid;
    private readonly Process _guest;
    private readonly StringBuilder _guestErrors = new();

    private RingGuestDaemon(string directory, int daemonPid, Process guest)
    {
        _directory = directory;
        _daemonPid = daemonPid;
        _guest = guest;
    }

    /// <summary>Starts the daemon of <paramref name="kind"/> (<c>c</c> or <c>ours</c>), introduces the guest and waits until it is ready.</summary>
    public static async Task<RingGuestDaemon> StartAsync(string kind)
    {
        string directory = $"/tmp/xsring-{kind}-{Environment.ProcessId}";
        Directory.CreateDirectory(directory);
        var environment = new Dictionary<string, string>();
        if (kind == "ours")
        {
            environment["XENSTORED_OURS"] = XenStoreDaemons.OursCommand;
        }

        int daemon = PeerDaemons.Start(kind, directory, environment);
        Process? guest = null;
        try
        {
            await using (XenStoreClient dom0 = await XenStoreDaemons.ConnectAsync(Path.Combine(directory, "socket")).ConfigureAwait(false))
            {
                string home = $"/local/domain/{DomainId}";
                await dom0.MkdirAsync(home).ConfigureAwait(false);
                await dom0.SetPermissionsAsync(home, [XsPermission.Parse($"n{DomainId}")]).ConfigureAwait(false);
                await File.WriteAllBytesAsync(Path.Combine(directory, $"xs-ring-{DomainId}"), new byte[4096]).ConfigureAwait(false);
                await dom0.IntroduceAsync(DomainId, 0, Port).ConfigureAwait(false);
            }

            var start = new ProcessStartInfo(XenStoreDaemons.FindAssembly("xs_guest"))
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.ArgumentList.Add(directory);
            start.ArgumentList.Add(DomainId.ToString(CultureInfo.InvariantCulture));
            start.ArgumentList.Add(Port.ToString(CultureInfo.InvariantCulture));
            start.ArgumentList.Add("--bench");
            guest = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
            var started = new RingGuestDaemon(directory, daemon, guest);
            guest.ErrorDataReceived += (_, e) =>
            {
                lock (started._guestErrors)
                {
                    started._guestErrors.AppendLine(e.Data);
                }
            };
            guest.BeginErrorReadLine();
            started.Expect("ready");
            return started;
        }
        catch
        {
            guest?.Kill();
            guest?.Dispose();
            PeerDaemons.Stop(daemon);
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>The daemon's Unix socket, for dom0's checks.</summary>
    public string SocketPath => Path.Combine(_directory, "socket");

    /// <summary>Has the guest send <paramref name="count"/> READs (<paramref name="write"/> false) or WRITEs of <c>data/b</c>, one at a time.</summary>
    public void Run(bool write, int count)
    {
        _guest.StandardInput.Write(string.Create(CultureInfo.InvariantCulture, $"{(write ? "write" : "read")} {count}\n"));
        _guest.StandardInput.Flush();
        Expect("ok");
    }

    public void Dispose()
    {
        _guest.StandardInput.Close(); // end of its commands: it exits
        if (!_guest.WaitForExit(5000))
        {
            _guest.Kill();
        }

        _guest.Dispose();
        PeerDaemons.Stop(_daemonPid);
        Directory.Delete(_directory, recursive: true);
    }

    private void Expect(string line)
    {
        string? got = _guest.StandardOutput.ReadLine();
        if (got != line)
        {
            _guest.WaitForExit(1000);
            lock (_guestErrors)
            {
                throw new InvalidOperationException($"xs_guest printed {got ?? "nothing (it ended)"} where {line} was due: {_guestErrors}");
            }
        }
    }
}
