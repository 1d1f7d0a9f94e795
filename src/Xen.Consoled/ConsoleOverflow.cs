namespace Xen.Consoled;

/// <summary>xenconsoled's <c>--overflow-data</c>: what to do with console output nobody reads.</summary>
public enum ConsoleOverflow
{
    /// <summary><c>discard</c>: keep taking output from the guest's ring, dropping the middle of what waits beyond the limit.</summary>
    Discard,

    /// <summary><c>keep</c>: stop taking output once the limit waits; the guest's ring fills and the guest waits.</summary>
    Keep,
}
