namespace Xen.Store.Server.LiveUpdate;

/// <summary>
/// What a live update carries of one connection into the new process: its socket's descriptor (-1 for a ring), the
/// bytes it had read and not yet handled, and the bytes it had yet to write (the CONN record's data); for a ring, the
/// watches to register again and the transactions to hold (aborted) once it is served.
/// </summary>
internal sealed record CarriedConnection(int SocketFd, byte[] Input, byte[] Output)
{
    public List<StoreWatch> Watches { get; } = [];

    public List<uint> Transactions { get; } = [];
}
