using System.Globalization;
using System.Text;
using Xen.Rings.Host;

// Xen.HostProbe: Xen.Rings' host bindings driven line by line, for tests that run it the way a Xen daemon runs
// (under the LD_PRELOAD shim of ../shared/peers, or with no Xen at all) and check each call from outside.
//
// One command per stdin line, one answer per stdout line:
//   ok [values...]                     the call succeeded
//   error <ExceptionType> <errno> <message>
// Commands (D domid, P port, R grant ref, cN a port and mN a mapping named by an earlier answer):
//   open | bind-interdomain D P | bind-unbound D | bind-virq V | notify cN | wait cN | handle cN | handled | unbind cN | close-evtchn
//   map-grant D R | map-grants D R... | map-notify D R OFFSET cN | share D COUNT | share-notify D OFFSET cN
//   foreign D PFN... | write mN OFFSET TEXT | read mN OFFSET LENGTH | poke mN OFFSET HEX | peek mN OFFSET LENGTH | unmap mN
//   copy-to D R OFFSET TEXT | copy-from D R OFFSET LENGTH | domain D | domains | exit
var probe = new Probe();
string? line;
while ((line = Console.ReadLine()) is not null)
{
    string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    if (words.Length == 0)
    {
        continue;
    }

    if (words[0] == "exit")
    {
        break;
    }

    string answer;
    try
    {
        answer = "ok" + probe.Run(words);
    }
    catch (Exception e)
    {
        int errno = e is XenHostException x ? x.Errno : 0;
        answer = $"error {e.GetType().Name} {errno} {e.Message.ReplaceLineEndings(" ")}";
    }

    Console.Out.WriteLine(answer);
    Console.Out.Flush();
}

return 0;

internal sealed class Probe
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(20);

    private readonly Dictionary<string, EventChannelPort> _ports = [];
    private readonly Dictionary<string, MappedPages> _mappings = [];
    private EventChannels? _evtchn;
    private GrantTable? _gnttab;
    private GrantSharer? _gntshr;
    private ForeignMemory? _foreign;
    private XenControl? _xc;
    private int _next;
    private int _handled;
    private Func<int>? _handlerThread;

    public string Run(string[] w)
    {
        switch (w[0])
        {
            case "open":
                _evtchn = EventChannels.Open();
                _gnttab = GrantTable.Open();
                _gntshr = GrantSharer.Open();
                _foreign = ForeignMemory.Open();
                _xc = XenControl.Open();
                return $" fd={_evtchn.FileDescriptor}";
            case "open-evtchn":
                _evtchn = EventChannels.Open();
                return "";
            case "bind-interdomain":
                return Port(Evtchn.BindInterdomain(U(w[1]), U(w[2])));
            case "bind-unbound":
                return Port(Evtchn.BindUnboundPort(U(w[1])));
            case "bind-virq":
                return Port(Evtchn.BindVirq(U(w[1])));
            case "notify":
                _ports[w[1]].Notify();
                return "";
            case "wait":
                using (var limit = new CancellationTokenSource(WaitLimit))
                {
                    _ports[w[1]].WaitAsync(limit.Token).AsTask().GetAwaiter().GetResult();
                }

                return "";
            case "handle":
            {
                // Events of cN go to a handler on the poller thread from now on; it counts them, notes its thread.
                EventChannelPort port = _ports[w[1]];
                int pollerThread = -1;
                port.SetEventHandler(() =>
                {
                    Interlocked.Increment(ref _handled);
                    pollerThread = Environment.CurrentManagedThreadId;
                });
                _handlerThread = () => pollerThread;
                return "";
            }

            case "handled":
                return $" {Volatile.Read(ref _handled)} {(_handlerThread?.Invoke() == Environment.CurrentManagedThreadId ? "same-thread" : "other-thread")}";
            case "unbind":
                _ports[w[1]].Dispose();
                return "";
            case "close-evtchn":
                Evtchn.Dispose();
                return "";
            case "map-grant":
                return Mapping(Gnttab.MapGrantRef(U(w[1]), U(w[2])));
            case "map-grants":
                return Mapping(Gnttab.MapGrantRefs(U(w[1]), w[2..].Select(U).ToArray()));
            case "map-notify":
                return Mapping(Gnttab.MapGrantRefNotify(U(w[1]), U(w[2]), U(w[3]), _ports[w[4]].LocalPort));
            case "share":
                return Mapping(Gntshr.SharePages(U(w[1]), int.Parse(w[2], CultureInfo.InvariantCulture)));
            case "share-notify":
                return Mapping(Gntshr.SharePageNotify(U(w[1]), U(w[2]), _ports[w[3]].LocalPort));
            case "foreign":
                return Mapping(Foreign.Map(U(w[1]), w[2..].Select(s => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray()));
            case "write":
                Encoding.ASCII.GetBytes(w[3]).CopyTo(_mappings[w[1]].GetSpan()[I(w[2])..]);
                return "";
            case "read":
                return " " + Encoding.ASCII.GetString(_mappings[w[1]].GetSpan().Slice(I(w[2]), I(w[3])));
            case "poke":
                Convert.FromHexString(w[3]).CopyTo(_mappings[w[1]].GetSpan()[I(w[2])..]);
                return "";
            case "peek":
                return " " + Convert.ToHexString(_mappings[w[1]].GetSpan().Slice(I(w[2]), I(w[3])));
            case "unmap":
                ((IDisposable)_mappings[w[1]]).Dispose();
                return "";
            case "copy-to":
            {
                GrantCopySegment[] segments = [new(Encoding.ASCII.GetBytes(w[4]), U(w[1]), U(w[2]), (ushort)I(w[3]), toGrant: true)];
                Gnttab.GrantCopy(segments);
                return $" {segments[0].Status}";
            }

            case "copy-from":
            {
                byte[] buffer = new byte[I(w[4])];
                GrantCopySegment[] segments = [new(buffer, U(w[1]), U(w[2]), (ushort)I(w[3]), toGrant: false)];
                Gnttab.GrantCopy(segments);
                return $" {segments[0].Status} {Encoding.ASCII.GetString(buffer)}";
            }

            case "domain":
                return Xc.TryGetDomainInfo(U(w[1]), out DomainInfo info)
                    ? $" exists {info.DomainId} dying={info.IsDying} shutdown={info.IsShutdown} running={info.IsRunning}"
                    : " absent";
            case "domains":
                return " " + string.Join(',', Xc.GetDomains(0, 64).Select(d => d.DomainId));
            default:
                throw new ArgumentException($"unknown command {w[0]}");
        }
    }

    private EventChannels Evtchn => _evtchn ?? throw new InvalidOperationException("open first");

    private GrantTable Gnttab => _gnttab ?? throw new InvalidOperationException("open first");

    private GrantSharer Gntshr => _gntshr ?? throw new InvalidOperationException("open first");

    private ForeignMemory Foreign => _foreign ?? throw new InvalidOperationException("open first");

    private XenControl Xc => _xc ?? throw new InvalidOperationException("open first");

    private string Port(EventChannelPort port)
    {
        string name = $"c{++_next}";
        _ports[name] = port;
        return $" {name} {port.LocalPort}";
    }

    private string Mapping(MappedPages pages)
    {
        string name = $"m{++_next}";
        _mappings[name] = pages;
        return $" {name} {pages.ByteCount}" + (pages.GrantRefs.IsEmpty ? "" : " " + string.Join(' ', pages.GrantRefs.ToArray()));
    }

    private static uint U(string s) => uint.Parse(s, CultureInfo.InvariantCulture);

    private static int I(string s) => int.Parse(s, CultureInfo.InvariantCulture);
}
