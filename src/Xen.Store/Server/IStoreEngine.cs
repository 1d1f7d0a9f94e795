using Microsoft.Extensions.Logging;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// What a connection needs of the engine, and all it may ask: a connection cuts frames from its transport and hands
/// each request in; the engine answers by queueing messages on connections (<see cref="ServerConnection.Enqueue"/>).
/// Every member takes the engine's lock, so a connection calls them from its own loop, never under that lock.
/// </summary>
internal interface IStoreEngine
{
    /// <summary>Handles one whole request from <paramref name="connection"/> and queues its reply.</summary>
    void Process(ServerConnection connection, XsHeader header, ReadOnlySpan<byte> payload);

    /// <summary>Drops the connection's watches and transactions (a ring reconnecting, a broken ring).</summary>
    void ResetConnection(ServerConnection connection);

    /// <summary>Forgets a connection whose loop has ended.</summary>
    void Detach(ServerConnection connection);

    /// <summary>The replies a domain may have waiting unread before its ring stops taking requests (its <c>outstanding</c> quota).</summary>
    int OutstandingQuota(uint domainId);

    /// <summary>While a live update dumps the state: a connection hands over no further request (it keeps what it holds).</summary>
    bool Frozen { get; }

    /// <summary>The server's log (<see cref="XenStoreServerOptions.Logger"/>), where a connection tells what broke it.</summary>
    ILogger Logger { get; }

    /// <summary>Completes when a freeze ends without the process being replaced (the live update failed).</summary>
    Task Thawed { get; }
}
