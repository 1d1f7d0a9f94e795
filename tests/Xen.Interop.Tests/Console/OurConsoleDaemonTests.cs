using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

// The xenconsoled tests again with our daemon (`xen console serve`) in xenconsoled's place: started with the same
// options under the same shim, against the same real xenstored, serving the same guest.

/// <summary><see cref="XenconsoledOutputTests"/> against our console daemon.</summary>
public sealed class OurConsoleDaemonOutputTests : XenconsoledOutputTests
{
    protected override ConsoleDaemonKind Daemon => ConsoleDaemonKind.Ours;
}

/// <summary><see cref="XenconsoledInputTests"/> against our console daemon.</summary>
public sealed class OurConsoleDaemonInputTests : XenconsoledInputTests
{
    protected override ConsoleDaemonKind Daemon => ConsoleDaemonKind.Ours;
}

/// <summary><see cref="XenconsoledEventChannelTests"/> against our console daemon.</summary>
public sealed class OurConsoleDaemonEventChannelTests : XenconsoledEventChannelTests
{
    protected override ConsoleDaemonKind Daemon => ConsoleDaemonKind.Ours;
}
