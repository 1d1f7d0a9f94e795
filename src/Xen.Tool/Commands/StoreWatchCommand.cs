using System.CommandLine;
using System.Text;
using Xen.Store;
using Xen.Store.Client;

namespace Xen.Tool.Commands;

/// <summary><c>xen store watch [-n NR] key [...]</c>: xenstore-watch.</summary>
internal static class StoreWatchCommand
{
    public static Command Create(ToolConsole console)
    {
        Option<string?> socket = StoreSocketOption.Create();
        var number = new Option<string?>("--number", "-n")
        {
            Description = "Exit after NR events (the first event of each watch, which the daemon sends at once, counts). -1 or no -n: run until interrupted. Read as C's atoi reads it, as xenstore-watch does.",
            HelpName = "NR",
        };
        Argument<string[]> keys = StoreSocketOption.Operands("key", "The paths to watch (a node and everything below it, or @introduceDomain / @releaseDomain); each is its own watch, with the path as its token.");
        var command = new Command("watch", "Print the path of every watch event, one a line, as it arrives. As xenstore-watch.");
        command.Options.Add(socket);
        command.Options.Add(number);
        command.Arguments.Add(keys);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var (socketPath, operands) = StoreSocketOption.Split(parseResult, socket, keys);
            string? n = parseResult.GetValue(number);
            long count = n is null ? -1 : Atoi(n);
            return RunAsync(new StoreRun(console, "watch"), socketPath, operands, count, cancellationToken);
        });
        return command;
    }

    private static long Atoi(string text)
    {
        ReadOnlySpan<char> s = text.AsSpan().TrimStart(" \t\n\v\f\r");
        bool negative = s.Length > 0 && s[0] == '-';
        if (s.Length > 0 && s[0] is '+' or '-')
        {
            s = s[1..];
        }

        long value = 0;
        foreach (char c in s)
        {
            if (c is < '0' or > '9' || value > int.MaxValue)
            {
                break;
            }

            value = (value * 10) + (c - '0');
        }

        return negative ? -value : value;
    }

    private static async Task<int> RunAsync(StoreRun run, string? socketPath, List<string> keys, long maxEvents, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return run.Usage("[-h] [-n NR] [-s PATH] key [...]");
        }

        var options = new XenStoreClientOptions { WatchEventCapacity = 1 << 16 };
        return await run.RunAsync(socketPath, async client =>
        {
            var watches = new List<XenStoreWatch>();
            try
            {
                foreach (string key in keys)
                {
                    try
                    {
                        StoreRun.CheckPath(key, allowSpecial: true);
                        watches.Add(await client.WatchAsync(key, key, null, cancellationToken).ConfigureAwait(false));
                    }
                    catch (XenStoreException e)
                    {
                        throw StoreRun.Exit($"Unable to add watch on {key}: {XsErrorText.Name(e)}");
                    }
                }

                var merged = new WatchMerge(watches);
                for (long count = 0; maxEvents == -1 || count < maxEvents; count++)
                {
                    if (await merged.NextAsync(cancellationToken).ConfigureAwait(false) is not XenStoreWatchEvent e)
                    {
                        break;
                    }

                    await run.Console.Output.WriteAsync(Encoding.UTF8.GetBytes(e.Path + "\n"), cancellationToken).ConfigureAwait(false);
                    await run.Console.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                }

                return 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return 130;
            }
            finally
            {
                foreach (XenStoreWatch w in watches)
                {
                    await w.DisposeAsync().ConfigureAwait(false);
                }
            }
        }, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The events of several watches of one connection in the order the connection received them: each watch's next
    /// event is held, and the one with the lowest sequence goes first. Polling every watch again after finding a
    /// candidate catches any earlier event that was not yet taken, since the connection queues events in order.
    /// </summary>
    private sealed class WatchMerge(List<XenStoreWatch> watches)
    {
        private readonly XenStoreWatchEvent?[] _held = new XenStoreWatchEvent?[watches.Count];
        private readonly bool[] _ended = new bool[watches.Count];

        public async Task<XenStoreWatchEvent?> NextAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                Take();
                if (Earliest() >= 0)
                {
                    Take();
                    int i = Earliest();
                    XenStoreWatchEvent e = _held[i]!.Value;
                    _held[i] = null;
                    return e;
                }

                var waits = new List<Task<bool>>();
                var waiting = new List<int>();
                for (int i = 0; i < watches.Count; i++)
                {
                    if (!_ended[i])
                    {
                        waits.Add(watches[i].WaitToReadAsync(cancellationToken).AsTask());
                        waiting.Add(i);
                    }
                }

                if (waits.Count == 0)
                {
                    return null;
                }

                Task<bool> done = await Task.WhenAny(waits).ConfigureAwait(false);
                if (!await done.ConfigureAwait(false))
                {
                    _ended[waiting[waits.IndexOf(done)]] = true;
                }
            }
        }

        private void Take()
        {
            for (int i = 0; i < watches.Count; i++)
            {
                if (_held[i] is null && watches[i].TryRead(out XenStoreWatchEvent e))
                {
                    _held[i] = e;
                }
            }
        }

        private int Earliest()
        {
            int best = -1;
            for (int i = 0; i < _held.Length; i++)
            {
                if (_held[i] is XenStoreWatchEvent e && (best < 0 || e.Sequence < _held[best]!.Value.Sequence))
                {
                    best = i;
                }
            }

            return best;
        }
    }
}
