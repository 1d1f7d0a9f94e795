using System.Buffers;
using Xen.Consoled.Host;
using Xen.Rings.Console;
using Xen.Rings.Host;
using Xen.Rings.Memory;
using Xen.Store.Client;
using Xen.Store.Server;

namespace Xen.Consoled.Tests;

/// <summary>
/// <see cref="ConsoleDaemon"/> as a host embeds it: over an in-process xenstored and a stand-in hypervisor (the domain
/// list, the console page and its event channel in memory), the library API says which domains it serves and where
/// each one's pseudo-terminal is, that path is the one published in <c>console/tty</c>, what the guest prints reaches
/// it, and a released domain is let go. The same daemon against the real programs is in the interop tests.
/// </summary>
public sealed class ConsoleDaemonTests
{
    private const uint Domain = 5;
    private const string Console = "/local/domain/5/console";
    private static CancellationToken Guard => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task ServedDomains_and_TerminalPath_follow_a_domain_from_introduction_to_release()
    {
        await using var server = new XenStoreServer();
        await using XenStoreClient dom0 = XenStoreClient.Create(server.ConnectInProcess(0));
        using var host = new StandInHost();
        await dom0.WriteAsync($"{Console}/ring-ref", "123");
        await dom0.WriteAsync($"{Console}/port", "7");
        await dom0.IntroduceAsync(Domain, 123, 1);
        host.Add(Domain);

        await using ConsoleDaemon daemon = await ConsoleDaemon.StartAsync(dom0, host, new ConsoleDaemonOptions(), null, Guard);
        await WaitAsync(() => daemon.ServedDomains.SequenceEqual([Domain]), "domain 5 is not served");
        string? tty = daemon.TerminalPath(Domain);
        Assert.NotNull(tty);
        Assert.Equal(tty, await dom0.ReadStringAsync($"{Console}/tty"));
        Assert.Null(daemon.TerminalPath(6));

        // What the guest prints reaches the pty.
        await using var terminal = new FileStream(tty, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1, useAsync: false);
        byte[] text = "printed by domain 5\n"u8.ToArray();
        Assert.Equal(text.Length, new ConsoleFrontend(host.Page(Domain).Memory.Span).Write(text));
        host.Kick(Domain);
        byte[] read = new byte[text.Length];
        await Task.Run(() => terminal.ReadExactly(read), Guard);
        Assert.Equal(text, read);

        // Released (gone from the domain list, @releaseDomain fired): no longer served, no terminal. Its console/tty
        // node stays, as xenconsoled leaves it (the toolstack removes the domain's directory).
        host.Remove(Domain);
        await dom0.ReleaseAsync(Domain);
        await WaitAsync(() => daemon.ServedDomains.Count == 0, "domain 5 is still served after its release");
        Assert.Null(daemon.TerminalPath(Domain));
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        CancellationToken guard = Guard;
        while (!condition())
        {
            Assert.False(guard.IsCancellationRequested, what);
            await Task.Delay(20, CancellationToken.None);
        }
    }

    /// <summary>The hypervisor as the daemon sees it: a domain list, one console page per domain, channels that record notifications.</summary>
    private sealed class StandInHost : IConsoleHost
    {
        private readonly object _gate = new();
        private readonly Dictionary<uint, SharedPage> _pages = [];
        private readonly Dictionary<uint, StandInChannel> _channels = [];

        public void Add(uint domainId)
        {
            lock (_gate)
            {
                _pages[domainId] = SharedPage.Allocate();
            }
        }

        public void Remove(uint domainId)
        {
            lock (_gate)
            {
                _pages.Remove(domainId);
            }
        }

        public SharedPage Page(uint domainId)
        {
            lock (_gate)
            {
                return _pages[domainId];
            }
        }

        /// <summary>The guest's notification: runs the handler the daemon set on its channel.</summary>
        public void Kick(uint domainId)
        {
            StandInChannel channel;
            lock (_gate)
            {
                channel = _channels[domainId];
            }

            channel.Raise();
        }

        public IReadOnlyList<DomainInfo> ListDomains()
        {
            lock (_gate)
            {
                return [.. _pages.Keys.Select(d => new DomainInfo(d, 1u << 5))]; // running
            }
        }

        public (MemoryManager<byte> Page, bool FromGrant) MapConsolePage(uint domainId, uint ringRef)
        {
            lock (_gate)
            {
                // The page stays the test's (a view on it is what the daemon unmaps).
                return _pages.TryGetValue(domainId, out SharedPage? page) ? (new View(page), true) : throw new XenHostException("xengnttab_map_grant_ref", 2);
            }
        }

        public MemoryManager<byte> MapGrant(uint domainId, uint grantRef) => throw new XenHostException("xengnttab_map_grant_ref", 2);

        public IConsoleChannel BindInterdomain(uint domainId, uint remotePort)
        {
            var channel = new StandInChannel();
            lock (_gate)
            {
                _channels[domainId] = channel;
            }

            return channel;
        }

        public void Dispose()
        {
            lock (_gate)
            {
                foreach (SharedPage page in _pages.Values)
                {
                    ((IDisposable)page).Dispose();
                }
            }
        }
    }

    /// <summary>A view on a page the test keeps: disposing it leaves the page mapped.</summary>
    private sealed class View(SharedPage page) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => page.Memory.Span;

        public override MemoryHandle Pin(int elementIndex = 0) => page.Memory[elementIndex..].Pin();

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }

    private sealed class StandInChannel : IConsoleChannel
    {
        private Action? _handler;

        public void SetEventHandler(Action? handler) => Volatile.Write(ref _handler, handler);

        public void Raise() => Volatile.Read(ref _handler)?.Invoke();

        public void Notify()
        {
        }

        public void Dispose()
        {
        }
    }
}
