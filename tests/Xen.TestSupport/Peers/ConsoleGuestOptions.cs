namespace Xen.TestSupport.Peers;

/// <summary>Fills in a console page before xenconsoled maps it, as a guest does at boot.</summary>
/// <param name="page">The 4096-byte page, zero-filled.</param>
public delegate void ConsolePagePreparer(Span<byte> page);

/// <summary>The guest domain whose console <see cref="XenconsoledPeer"/> serves.</summary>
public sealed record ConsoleGuestOptions
{
    /// <summary>The guest's domid.</summary>
    public uint DomainId { get; init; } = 5;

    /// <summary>The guest's name (<c>/local/domain/&lt;domid&gt;/name</c>); xenconsoled's log is <c>guest-&lt;name&gt;.log</c>.</summary>
    public string Name { get; init; } = "guest5";

    /// <summary>The guest-side event-channel port of the console (<c>console/port</c>).</summary>
    public uint Port { get; init; } = 8;

    /// <summary>Called with the zeroed page before it is written to the page file; null leaves it zeroed.</summary>
    public ConsolePagePreparer? PreparePage { get; init; }
}
