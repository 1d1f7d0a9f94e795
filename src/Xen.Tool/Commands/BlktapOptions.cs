using System.CommandLine;
using System.Globalization;
using Xen.Blktap.Host;
using Xen.Blktap.Lifecycle;

namespace Xen.Tool.Commands;

/// <summary>
/// The options every <c>xen blktap</c> command takes (given before or after the subcommand): where xenstored is,
/// which host backend starts tap devices and where its programs and kernel files are, the vm record, the backend
/// domain, and the timeout of each wait on the backend.
/// </summary>
internal sealed class BlktapOptions
{
    public const string TapCtlHost = "tap-ctl";
    public const string SysfsHost = "blktap2";

    public Option<string?> Socket { get; } = StoreSocketOption.CreateWithPath();

    public Option<string> Host { get; } = new("--host")
    {
        Description = $"How tap devices are started: '{TapCtlHost}' (blktap 3 and later: tap-ctl create/list/pause/unpause/destroy) or '{SysfsHost}' (tapdisk2 and /sys/class/blktap2).",
        DefaultValueFactory = _ => TapCtlHost,
        HelpName = "tap-ctl|blktap2",
        Recursive = true,
    };

    public Option<string> TapCtl { get; } = new("--tap-ctl")
    {
        Description = "The tap-ctl program (--host tap-ctl).",
        DefaultValueFactory = _ => new TapCtlOptions().TapCtlPath,
        HelpName = "PATH",
        Recursive = true,
    };

    public Option<string> Tapdisk2 { get; } = new("--tapdisk2")
    {
        Description = "The tapdisk2 program (--host blktap2).",
        DefaultValueFactory = _ => new Blktap2SysfsOptions().Tapdisk2Path,
        HelpName = "PATH",
        Recursive = true,
    };

    public Option<string> ProcRoot { get; } = new("--proc-root")
    {
        Description = "The proc file system; its devices file says whether the blktap2 kernel driver is loaded (tap2 is used only then; otherwise a tap disk gets the blktap1 class).",
        DefaultValueFactory = _ => "/proc",
        HelpName = "DIR",
        Recursive = true,
    };

    public Option<string> SysRoot { get; } = new("--sys-root")
    {
        Description = "The sysfs root (--host blktap2).",
        DefaultValueFactory = _ => "/sys",
        HelpName = "DIR",
        Recursive = true,
    };

    public Option<string> DevRoot { get; } = new("--dev-root")
    {
        Description = "The device root (--host blktap2).",
        DefaultValueFactory = _ => "/dev",
        HelpName = "DIR",
        Recursive = true,
    };

    public Option<string> KernelDriver { get; } = new("--kernel-driver")
    {
        Description = "With --host tap-ctl: the driver whose line in PROC/devices says blktap is usable; 'none' for a blktap without a kernel driver (always usable).",
        DefaultValueFactory = _ => "blktap2",
        HelpName = "NAME|none",
        Recursive = true,
    };

    public Option<double> Timeout { get; } = new("--timeout")
    {
        Description = "Seconds to wait for the backend at each step (InitWait and hotplug-status on create, Closed and removal on destroy).",
        DefaultValueFactory = _ => new BlktapManagerOptions().DeviceTimeout.TotalSeconds,
        HelpName = "SECONDS",
        Recursive = true,
    };

    public Option<string?> VmUuid { get; } = new("--vm")
    {
        Description = "The domain's vm uuid (its /vm/<uuid> record). Default: from /local/domain/<domid>/vm, else the /vm record whose devices name the domain.",
        HelpName = "UUID",
        Recursive = true,
    };

    public Option<uint> BackendDomain { get; } = new("--backend-domid")
    {
        Description = "The domain that runs the disk backends (0 unless a driver domain serves them).",
        HelpName = "DOMID",
        Recursive = true,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Socket);
        command.Options.Add(Host);
        command.Options.Add(TapCtl);
        command.Options.Add(Tapdisk2);
        command.Options.Add(ProcRoot);
        command.Options.Add(SysRoot);
        command.Options.Add(DevRoot);
        command.Options.Add(KernelDriver);
        command.Options.Add(Timeout);
        command.Options.Add(VmUuid);
        command.Options.Add(BackendDomain);
    }

    /// <summary>The host backend the options choose.</summary>
    /// <exception cref="ArgumentException">An unknown <c>--host</c>.</exception>
    public ITapBackend CreateHost(ParseResult parseResult)
    {
        string host = parseResult.GetValue(Host)!;
        string proc = parseResult.GetValue(ProcRoot)!;
        return host switch
        {
            TapCtlHost => new TapCtlBackend(new TapCtlOptions
            {
                TapCtlPath = parseResult.GetValue(TapCtl)!,
                ProcRoot = proc,
                KernelDriverName = parseResult.GetValue(KernelDriver) is "none" or "" ? null : parseResult.GetValue(KernelDriver),
            }),
            SysfsHost => new Blktap2SysfsBackend(new Blktap2SysfsOptions
            {
                Tapdisk2Path = parseResult.GetValue(Tapdisk2)!,
                ProcRoot = proc,
                SysRoot = parseResult.GetValue(SysRoot)!,
                DevRoot = parseResult.GetValue(DevRoot)!,
            }),
            _ => throw new ArgumentException($"--host {host}: expected '{TapCtlHost}' or '{SysfsHost}'."),
        };
    }

    /// <summary>The lifecycle's options.</summary>
    /// <exception cref="ArgumentException">A timeout that is not a positive number of seconds.</exception>
    public BlktapManagerOptions CreateManagerOptions(ParseResult parseResult)
    {
        double seconds = parseResult.GetValue(Timeout);
        if (!(seconds > 0) || seconds > int.MaxValue / 1000.0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--timeout {seconds}: expected a positive number of seconds."));
        }

        return new BlktapManagerOptions { DeviceTimeout = TimeSpan.FromSeconds(seconds) };
    }
}
