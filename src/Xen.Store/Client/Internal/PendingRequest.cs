using System.Threading.Tasks.Sources;
using Xen.Store.Wire;

namespace Xen.Store.Client.Internal;

/// <summary>
/// One request waiting for its reply: a reusable <see cref="IValueTaskSource{TResult}"/> that goes back to its
/// pipeline's free list once the caller has taken the result, so a request that is not cancellable allocates nothing
/// but its reply. Continuations run on the thread pool, or on the receive loop with
/// <see cref="XenStoreClientOptions.InlineCompletions"/>.
/// </summary>
internal sealed class PendingRequest : IValueTaskSource<byte[]>
{
    private readonly RequestPipeline _owner;
    private ManualResetValueTaskSourceCore<byte[]> _core;
    private string? _subject;

    public PendingRequest(RequestPipeline owner, bool inlineCompletions)
    {
        _owner = owner;
        _core.RunContinuationsAsynchronously = !inlineCompletions;
    }

    /// <summary>The request's type, which its reply must carry (or ERROR).</summary>
    public XsMessageType Type { get; private set; }

    public short Version => _core.Version;

    /// <summary>When the request was sent, for the round-trip metric (0: not timed).</summary>
    public long Started { get; private set; }

    public void Start(XsMessageType type, string? subject, long started)
    {
        Type = type;
        _subject = subject;
        Started = started;
    }

    public void Complete(byte[] payload) => _core.SetResult(payload);

    public void Fail(Exception error) => _core.SetException(error);

    /// <summary>The request as error messages name it: <c>READ /local/domain/1/name</c>.</summary>
    public string Describe() => _subject is null ? Type.ToString().ToUpperInvariant() : $"{Type.ToString().ToUpperInvariant()} {_subject}";

    public byte[] GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            _subject = null;
            _owner.Recycle(this);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
