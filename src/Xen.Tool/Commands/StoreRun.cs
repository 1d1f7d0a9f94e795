using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Tool.Commands;

/// <summary>
/// One run of a <c>xen store</c> command: the connection, the messages on standard error (prefixed with the
/// command's name, as xenstore-utils prefix theirs), and the transaction loop of xenstore-utils.
/// </summary>
internal sealed class StoreRun
{
    private readonly ToolConsole _console;

    public StoreRun(ToolConsole console, string commandName)
    {
        _console = console;
        Program = "xen store " + commandName;
    }

    /// <summary>The name messages start with.</summary>
    public string Program { get; }

    public ToolConsole Console => _console;

    /// <summary>A message on standard error (<c>warnx</c>).</summary>
    public void Warn(string message) => _console.Error.WriteLine($"{Program}: {message}");

    /// <summary>A message naming the error (<c>couldn't read path /x: ENOENT</c>).</summary>
    public void Warn(string message, Exception error) => Warn($"{message}: {XsErrorText.Name(error)}");

    /// <summary>An immediate exit with a message (<c>errx</c>).</summary>
    public static StoreExitException Exit(string message) => new(message);

    /// <summary>An immediate exit with a message and the error's text and name (<c>err</c>).</summary>
    public static StoreExitException Exit(string message, Exception error) => new($"{message}: {XsErrorText.Describe(error)}", error);

    /// <summary>The usage line on standard error and exit status 1, as xenstore-utils on a wrong command line.</summary>
    public int Usage(string arguments)
    {
        Warn($"Usage: {Program} {arguments}");
        return 1;
    }

    /// <summary>
    /// Connects (to <paramref name="socketPath"/>, or as libxenstore does) and runs <paramref name="body"/>; its
    /// <see cref="StoreExitException"/> becomes the message and exit status.
    /// </summary>
    public async Task<int> RunAsync(string? socketPath, Func<XenStoreClient, Task<int>> body, XenStoreClientOptions? options, CancellationToken cancellationToken)
    {
        XenStoreClient client;
        try
        {
            client = await ConnectAsync(socketPath, options, cancellationToken).ConfigureAwait(false);
        }
        catch (XenStoreConnectionException e)
        {
            Warn($"xs_open: {e.Message}");
            return 1;
        }

        await using (client.ConfigureAwait(false))
        {
            try
            {
                return await body(client).ConfigureAwait(false);
            }
            catch (StoreExitException e)
            {
                Warn(e.Message);
                return e.ExitCode;
            }
            catch (XenStoreException e)
            {
                Warn(e.Message);
                return 1;
            }
        }
    }

    /// <summary>Connects to <paramref name="socketPath"/>, or, when it is null, as libxenstore does (<c>XENSTORED_PATH</c>, ...).</summary>
    /// <exception cref="XenStoreConnectionException">No daemon could be reached.</exception>
    public static ValueTask<XenStoreClient> ConnectAsync(string? socketPath, XenStoreClientOptions? options, CancellationToken cancellationToken) =>
        socketPath is null
            ? XenStoreClient.ConnectAsync(options, cancellationToken)
            : XenStoreClient.ConnectAsync(socketPath, options, cancellationToken);

    /// <summary>
    /// xenstore-utils' main loop: <paramref name="perform"/> runs in a new transaction when
    /// <paramref name="inTransaction"/> (else outside any), which is committed when it returns 0 and aborted
    /// otherwise; a commit that fails with EAGAIN runs everything again after <paramref name="restart"/>
    /// (which drops the output kept so far).
    /// </summary>
    public static async Task<int> TransactAsync(XenStoreClient client, bool inTransaction, Func<XenStoreOperations, Task<int>> perform, Action restart, CancellationToken cancellationToken)
    {
        if (!inTransaction)
        {
            return await perform(client).ConfigureAwait(false);
        }

        while (true)
        {
            XenStoreTransaction transaction;
            try
            {
                transaction = await client.StartTransactionAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (XenStoreException e)
            {
                throw new StoreExitException($"couldn't start transaction: {XsErrorText.Name(e)}", e);
            }

            await using (transaction.ConfigureAwait(false))
            {
                int result = await perform(transaction).ConfigureAwait(false);
                try
                {
                    if (result == 0)
                    {
                        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await transaction.AbortAsync(cancellationToken).ConfigureAwait(false);
                    }

                    return result;
                }
                catch (XenStoreErrorException e) when (result == 0 && e.Error == XsError.EAGAIN)
                {
                    restart();
                }
                catch (XenStoreException e)
                {
                    throw new StoreExitException($"couldn't end transaction: {XsErrorText.Name(e)}", e);
                }
            }
        }
    }

    /// <summary>
    /// Fails the way the daemon would for a path it refuses (EINVAL), before anything is sent: the client checks
    /// paths itself and would otherwise throw <see cref="ArgumentException"/>.
    /// </summary>
    public static void CheckPath(string path, bool allowSpecial = false)
    {
        if (!XsPath.IsValid(path, allowSpecial, out string? reason))
        {
            throw new XenStoreErrorException("EINVAL", reason);
        }
    }

    public static async Task<byte[]> ReadAsync(XenStoreOperations ops, string path, CancellationToken cancellationToken)
    {
        CheckPath(path);
        return await ops.ReadAsync(path, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<IReadOnlyList<string>> DirectoryAsync(XenStoreOperations ops, string path, CancellationToken cancellationToken)
    {
        CheckPath(path);
        return await ops.DirectoryAsync(path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>READ, or null on any failure (where xenstore-utils only test for NULL).</summary>
    public static async Task<byte[]?> TryReadAsync(XenStoreOperations ops, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadAsync(ops, path, cancellationToken).ConfigureAwait(false);
        }
        catch (XenStoreException)
        {
            return null;
        }
    }

    /// <summary>DIRECTORY, or null on any failure.</summary>
    public static async Task<IReadOnlyList<string>?> TryDirectoryAsync(XenStoreOperations ops, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await DirectoryAsync(ops, path, cancellationToken).ConfigureAwait(false);
        }
        catch (XenStoreException)
        {
            return null;
        }
    }

    /// <summary>Writes buffered output to standard output.</summary>
    public async Task FlushAsync(MemoryStream output, CancellationToken cancellationToken)
    {
        if (output.Length > 0)
        {
            await _console.Output.WriteAsync(output.GetBuffer().AsMemory(0, (int)output.Length), cancellationToken).ConfigureAwait(false);
        }

        await _console.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
