namespace Xen.TestSupport.Peers;

/// <summary>
/// The bound on every wait for a real program, so a test that goes wrong fails with a message naming what did not
/// arrive instead of hanging. It is a hang guard, never a speed assertion: the bound is generous.
/// </summary>
public static class Deadline
{
    /// <summary>How long a test waits for something a real program should do.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(20);

    /// <summary>How long to sleep between two looks at something that has no notification (a file, a process).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Runs <paramref name="body"/> with a token cancelled after <see cref="Default"/>; if that cancels it, throws
    /// a <see cref="TimeoutException"/> whose message is <paramref name="describeMissing"/>'s (evaluated then, so it
    /// can show the state at the time).
    /// </summary>
    public static async Task RunAsync(Func<CancellationToken, Task> body, Func<string> describeMissing)
    {
        using var timeout = new CancellationTokenSource(Default);
        try
        {
            await body(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"{describeMissing()} (waited {Default.TotalSeconds:0} s).");
        }
    }

    /// <summary>As <see cref="RunAsync(Func{CancellationToken, Task}, Func{string})"/>, returning the body's result.</summary>
    public static async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> body, Func<string> describeMissing)
    {
        using var timeout = new CancellationTokenSource(Default);
        try
        {
            return await body(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"{describeMissing()} (waited {Default.TotalSeconds:0} s).");
        }
    }

    /// <summary>
    /// Looks at <paramref name="condition"/> every <see cref="PollInterval"/> until it holds; for state that no
    /// notification announces (a log file growing, a socket appearing).
    /// </summary>
    /// <exception cref="TimeoutException">It did not hold within <see cref="Default"/>; the message is <paramref name="describeMissing"/>'s.</exception>
    public static Task PollAsync(Func<bool> condition, Func<string> describeMissing) =>
        RunAsync(
            async token =>
            {
                while (!condition())
                {
                    await Task.Delay(PollInterval, token).ConfigureAwait(false);
                }
            },
            describeMissing);
}
