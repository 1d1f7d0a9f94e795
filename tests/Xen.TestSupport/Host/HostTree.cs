using System.Globalization;
using System.Text;
using Xen.Blktap.Host;

namespace Xen.TestSupport.Host;

/// <summary>
/// A directory standing in for a host with blktap: <c>proc/devices</c>, <c>sys/class/blktap2</c>,
/// <c>dev/xen/blktap-2</c>, image files under <c>images/</c>, and two stand-in programs written as shell scripts:
/// </summary>
/// <remarks>
/// <para>
/// <c>tapdisk2 -n driver:file</c> refuses a missing image, allocates the lowest free minor N by creating
/// <c>sys/class/blktap2/blktapN</c> (mkdir is atomic, so concurrent starts get distinct minors) with
/// <c>pause</c> and <c>resume</c> files and a FIFO <c>remove</c>, creates <c>dev/xen/blktap-2/tapdevN</c> and prints
/// its path. A background reader plays the kernel: when <c>remove</c> is written it logs <c>N remove</c> to
/// <c>removed.log</c> and deletes the sysfs directory and the device node.
/// </para>
/// <para>
/// <c>tap-ctl</c> keeps one directory per minor under <c>tapctl/</c> (pid, state, args) and behaves like tap-ctl:
/// <c>create -a</c> prints <c>/dev/xen/blktap-2/tapdevN</c>; <c>list</c> prints <c>pid=.. minor=.. state=%#x args=..</c>;
/// <c>pause</c>/<c>unpause</c> need the right pid and the opposite state; <c>destroy</c> and <c>free</c> log to
/// <c>released.log</c>. Any misuse exits non-zero with a message, and a file <c>fail-&lt;command&gt;</c> makes that
/// command fail with exit code 5.
/// </para>
/// </remarks>
public sealed class HostTree : IDisposable
{
    public HostTree(bool blktap2Loaded = true)
    {
        Root = Path.Combine(Path.GetTempPath(), $"blktap-host-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(Root, "proc"));
        Directory.CreateDirectory(Path.Combine(Root, "sys", "class", "blktap2"));
        Directory.CreateDirectory(Path.Combine(Root, "dev", "xen", "blktap-2"));
        Directory.CreateDirectory(Path.Combine(Root, "images"));
        File.WriteAllText(Path.Combine(Root, "proc", "devices"),
            "Character devices:\n  1 mem\n  4 tty\n" + (blktap2Loaded ? "254 blktap2\n" : string.Empty) + "\nBlock devices:\n  8 sd\n253 tapdev\n");
        WriteScript(Tapdisk2Path, Tapdisk2Script);
        WriteScript(TapCtlPath, TapCtlScript);
    }

    public string Root { get; }

    public string Tapdisk2Path => Path.Combine(Root, "bin-tapdisk2");

    public string TapCtlPath => Path.Combine(Root, "bin-tap-ctl");

    public string SysClass => Path.Combine(Root, "sys", "class", "blktap2");

    public Blktap2SysfsOptions SysfsOptions(string? tapdisk2 = null) => new()
    {
        ProcRoot = Path.Combine(Root, "proc"),
        SysRoot = Path.Combine(Root, "sys"),
        DevRoot = Path.Combine(Root, "dev"),
        Tapdisk2Path = tapdisk2 ?? Tapdisk2Path,
    };

    public TapCtlOptions TapCtlOptions(string? tapCtl = null) => new()
    {
        TapCtlPath = tapCtl ?? TapCtlPath,
        ProcRoot = Path.Combine(Root, "proc"),
    };

    /// <summary>Creates an image file and returns its path.</summary>
    public string Image(string name)
    {
        string path = Path.Combine(Root, "images", name);
        File.WriteAllText(path, "image");
        return path;
    }

    /// <summary>Makes tap-ctl's <paramref name="command"/> fail (exit 5) until <see cref="Heal"/>.</summary>
    public void Break(string command) => File.WriteAllText(Path.Combine(Root, $"fail-{command}"), string.Empty);

    public void Heal(string command) => File.Delete(Path.Combine(Root, $"fail-{command}"));

    /// <summary>The minors the stand-in kernel removed, one entry per remove.</summary>
    public IReadOnlyList<int> SysfsRemoved() => ReadLog("removed.log", "remove");

    /// <summary>The minors tap-ctl destroyed or freed, one entry per release.</summary>
    public IReadOnlyList<int> TapCtlReleased() =>
        [.. ReadLog("released.log", "destroy"), .. ReadLog("released.log", "free")];

    public IReadOnlyList<string> SysfsEntries() =>
        [.. Directory.EnumerateDirectories(SysClass).Select(Path.GetFileName).Order()!];

    public IReadOnlyList<string> DeviceNodes() =>
        [.. Directory.EnumerateFiles(Path.Combine(Root, "dev", "xen", "blktap-2")).Select(Path.GetFileName).Order()!];

    public string ReadSysfs(int minor, string file) =>
        File.ReadAllText(Path.Combine(SysClass, string.Create(CultureInfo.InvariantCulture, $"blktap{minor}"), file));

    public void Dispose()
    {
        // Release any stand-in kernel reader still waiting on a remove FIFO, so no process outlives the test.
        if (Directory.Exists(SysClass))
        {
            foreach (string directory in Directory.EnumerateDirectories(SysClass))
            {
                string fifo = Path.Combine(directory, "remove");
                if (File.Exists(fifo))
                {
                    try
                    {
                        using var stream = new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
                        stream.Write("cleanup"u8);
                    }
                    catch (IOException)
                    {
                    }
                }
            }
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private List<int> ReadLog(string log, string word)
    {
        string path = Path.Combine(Root, log);
        if (!File.Exists(path))
        {
            return [];
        }

        return [.. File.ReadAllLines(path)
            .Select(l => l.Split(' '))
            .Where(f => f.Length == 2 && (f[1] == word || f[0] == word))
            .Select(f => int.Parse(f[0] == word ? f[1] : f[0], CultureInfo.InvariantCulture))];
    }

    private void WriteScript(string path, string body)
    {
        File.WriteAllText(path, body.Replace("@ROOT@", Root, StringComparison.Ordinal).ReplaceLineEndings("\n"), Encoding.ASCII);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private const string Tapdisk2Script = """
        #!/bin/sh
        root='@ROOT@'
        if [ "$1" != "-n" ] || [ -z "$2" ] || [ $# -ne 2 ]; then echo "usage: tapdisk2 -n <driver>:<file>" >&2; exit 22; fi
        case "$2" in *:*) ;; *) echo "tapdisk2: '$2' is not <driver>:<file>" >&2; exit 22;; esac
        file="${2#*:}"
        if [ ! -e "$file" ]; then echo "tapdisk2: failed to open $file: No such file or directory" >&2; exit 2; fi
        n=0
        while ! mkdir "$root/sys/class/blktap2/blktap$n" 2>/dev/null; do n=$((n+1)); done
        d="$root/sys/class/blktap2/blktap$n"
        dev="$root/dev/xen/blktap-2/tapdev$n"
        : > "$d/pause"; : > "$d/resume"; printf '%s\n' "$2" > "$d/args"
        mkfifo "$d/remove"
        : > "$dev"
        # A remove is logged, then the device node goes, then the sysfs directory last: a test that waits for the
        # directory to go (as AssertNothingLeftAsync and HostBackendTests do) then finds the rest done too.
        ( read word < "$d/remove"; echo "$n $word" >> "$root/removed.log"; rm -f "$dev"; rm -rf "$d" ) </dev/null >/dev/null 2>&1 &
        echo "$dev"
        """;

    private const string TapCtlScript = """
        #!/bin/sh
        root='@ROOT@'
        st="$root/tapctl"
        mkdir -p "$st"
        echo "$*" >> "$root/tapctl.log"
        cmd="$1"
        [ -n "$cmd" ] || { echo "usage: tap-ctl <command> ..." >&2; exit 22; }
        shift
        if [ -e "$root/fail-$cmd" ]; then echo "tap-ctl $cmd: injected failure" >&2; exit 5; fi
        pid=""; minor=""; args=""
        while [ $# -gt 0 ]; do
          case "$1" in
            -p) pid="$2"; shift 2;;
            -m) minor="$2"; shift 2;;
            -a) args="$2"; shift 2;;
            *) echo "tap-ctl $cmd: unknown option $1" >&2; exit 22;;
          esac
        done
        d="$st/$minor"
        case "$cmd" in
          create)
            [ -n "$args" ] || { echo "tap-ctl create: -a <type:file> required" >&2; exit 22; }
            file="${args#*:}"
            [ -e "$file" ] || { echo "tap-ctl create: failed to open $file" >&2; exit 2; }
            n=0
            while ! mkdir "$st/$n" 2>/dev/null; do n=$((n+1)); done
            echo 0 > "$st/$n/state"; echo "$args" > "$st/$n/args"; echo $((20000 + n)) > "$st/$n/pid"
            echo "/dev/xen/blktap-2/tapdev$n";;
          list)
            for e in "$st"/*; do
              [ -d "$e" ] || continue
              p=$(cat "$e/pid" 2>/dev/null); s=$(cat "$e/state" 2>/dev/null); a=$(cat "$e/args" 2>/dev/null)
              # An entry still being created shows no pid yet; tap-ctl would not list it either.
              [ -n "$p" ] && [ -n "$s" ] || continue
              printf 'pid=%s minor=%s state=%#x args=%s\n' "$p" "${e##*/}" "$s" "$a"
            done;;
          pause|unpause|destroy)
            if [ -z "$minor" ] || [ ! -d "$d" ] || [ "$(cat "$d/pid")" != "$pid" ]; then echo "tap-ctl $cmd: no tapdisk $pid with minor $minor" >&2; exit 3; fi
            case "$cmd" in
              pause) [ "$(cat "$d/state")" = 0 ] || { echo "tap-ctl pause: minor $minor already paused" >&2; exit 16; }; echo 2 > "$d/state";;
              unpause) [ "$(cat "$d/state")" = 2 ] || { echo "tap-ctl unpause: minor $minor not paused" >&2; exit 16; }; echo 0 > "$d/state";;
              destroy) mv "$d" "$st/.gone-$minor-$$" && rm -rf "$st/.gone-$minor-$$"; echo "destroy $minor" >> "$root/released.log";;
            esac;;
          free)
            if [ -z "$minor" ] || [ ! -d "$d" ]; then echo "tap-ctl free: minor $minor not allocated" >&2; exit 3; fi
            if [ "$(cat "$d/pid")" != "-1" ]; then echo "tap-ctl free: minor $minor busy" >&2; exit 16; fi
            mv "$d" "$st/.gone-$minor-$$" && rm -rf "$st/.gone-$minor-$$"; echo "free $minor" >> "$root/released.log";;
          *) echo "tap-ctl: unknown command $cmd" >&2; exit 22;;
        esac
        """;

    /// <summary>Allocates a minor with no tapdisk (as a crashed tapdisk leaves it), for tap-ctl's free path.</summary>
    public int OrphanTapCtlMinor()
    {
        string st = Path.Combine(Root, "tapctl");
        Directory.CreateDirectory(st);
        for (int n = 0; ; n++)
        {
            string d = Path.Combine(st, n.ToString(CultureInfo.InvariantCulture));
            if (!Directory.Exists(d))
            {
                Directory.CreateDirectory(d);
                File.WriteAllText(Path.Combine(d, "pid"), "-1\n");
                File.WriteAllText(Path.Combine(d, "state"), "0\n");
                File.WriteAllText(Path.Combine(d, "args"), "\n");
                return n;
            }
        }
    }
}
