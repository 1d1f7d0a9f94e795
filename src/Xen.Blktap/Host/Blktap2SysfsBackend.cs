using System.Globalization;
using System.Text;

namespace Xen.Blktap.Host;

/// <summary>
/// The blktap2 kernel driver, as the 2009 toolstack drove it: <c>blktap2</c> in <c>/proc/devices</c> says the
/// driver is loaded; <c>tapdisk2 -n &lt;driver&gt;:&lt;file&gt;</c> starts a tapdisk and prints its device
/// (<c>/dev/xen/blktap-2/tapdev&lt;N&gt;</c>) on its first line; the words <c>pause</c>, <c>resume</c> and
/// <c>remove</c> written to <c>/sys/class/blktap2/blktap&lt;N&gt;/{pause,resume,remove}</c> pause, resume and
/// destroy the device (the driver then removes the sysfs directory and the device node).
/// </summary>
/// <remarks>
/// Control files are opened for writing without creating or truncating them, as a sysfs attribute is written.
/// The roots are options so the backend can run against a directory tree standing in for the kernel.
/// </remarks>
public sealed class Blktap2SysfsBackend : ITapBackend
{
    private readonly Blktap2SysfsOptions _options;

    /// <summary>Creates the backend.</summary>
    public Blktap2SysfsBackend(Blktap2SysfsOptions? options = null) => _options = options ?? new Blktap2SysfsOptions();

    /// <inheritdoc/>
    public string Name => "blktap2-sysfs";

    private string ClassDirectory => Path.Combine(_options.SysRoot, "class", "blktap2");

    /// <summary>Whether a <c>/proc/devices</c> line names the <c>blktap2</c> driver.</summary>
    public ValueTask<bool> IsBlktap2PresentAsync(CancellationToken cancellationToken = default) =>
        ProcDevices.HasDriverAsync(_options.ProcRoot, "blktap2", cancellationToken);

    /// <summary>Runs <c>tapdisk2 -n &lt;driver&gt;:&lt;file&gt;</c> and takes the device from its first output line.</summary>
    /// <exception cref="TapBackendException">tapdisk2 is missing, failed, or printed no tap device path.</exception>
    public async ValueTask<TapDevice> CreateAsync(string driver, string file, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(driver);
        ArgumentException.ThrowIfNullOrEmpty(file);
        string arguments = $"{driver}:{file}";
        ProcessRunner.Result result = await ProcessRunner.RunAsync(_options.Tapdisk2Path, TapOperation.Create, ["-n", arguments], cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new TapBackendException(TapOperation.Create, $"tapdisk2 -n {arguments} failed: {result.Describe()}.", result.ExitCode);
        }

        if (!TapDevice.TryParseCreated(result.StandardOutput, out string? devicePath, out int minor))
        {
            throw new TapBackendException(TapOperation.Create, $"tapdisk2 -n {arguments} printed no tap device path: {result.Describe()}.", result.ExitCode);
        }

        return new TapDevice(minor, devicePath, arguments);
    }

    /// <summary>Writes <c>pause</c> to the device's <c>pause</c> file.</summary>
    /// <exception cref="TapBackendException">The device or its file does not exist, or the write failed.</exception>
    public ValueTask PauseAsync(int minor, CancellationToken cancellationToken = default) =>
        WriteControlAsync(minor, "pause", TapOperation.Pause, optional: false, cancellationToken);

    /// <summary>Writes <c>resume</c> to the device's <c>resume</c> file, if the driver has one.</summary>
    /// <exception cref="TapBackendException">The device does not exist, or the write failed.</exception>
    public ValueTask UnpauseAsync(int minor, CancellationToken cancellationToken = default) =>
        WriteControlAsync(minor, "resume", TapOperation.Unpause, optional: true, cancellationToken);

    /// <summary>Writes <c>remove</c> to the device's <c>remove</c> file; false when the device is already gone.</summary>
    /// <exception cref="TapBackendException">The write failed.</exception>
    public async ValueTask<bool> ReleaseAsync(int minor, CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(DeviceDirectory(minor)))
        {
            return false;
        }

        await WriteControlAsync(minor, "remove", TapOperation.Release, optional: false, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>The <c>blktap&lt;N&gt;</c> directories of the driver's sysfs class.</summary>
    public ValueTask<IReadOnlyList<TapDevice>> ListAsync(CancellationToken cancellationToken = default)
    {
        var devices = new List<TapDevice>();
        if (Directory.Exists(ClassDirectory))
        {
            foreach (string directory in Directory.EnumerateDirectories(ClassDirectory, "blktap*"))
            {
                string suffix = Path.GetFileName(directory)["blktap".Length..];
                if (int.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out int minor))
                {
                    devices.Add(new TapDevice(minor, TapDevice.PathFor(minor, _options.DevRoot)));
                }
            }
        }

        devices.Sort(static (a, b) => a.Minor.CompareTo(b.Minor));
        return ValueTask.FromResult<IReadOnlyList<TapDevice>>(devices);
    }

    private string DeviceDirectory(int minor) =>
        Path.Combine(ClassDirectory, string.Create(CultureInfo.InvariantCulture, $"blktap{minor}"));

    private async ValueTask WriteControlAsync(int minor, string word, TapOperation operation, bool optional, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minor);
        string directory = DeviceDirectory(minor);
        string file = Path.Combine(directory, word);
        if (!Directory.Exists(directory))
        {
            throw new TapBackendException(operation, $"There is no blktap2 device {minor} ({directory} does not exist).");
        }

        if (!File.Exists(file))
        {
            if (optional)
            {
                return;
            }

            throw new TapBackendException(operation, $"The blktap2 driver has no {file}.");
        }

        byte[] bytes = Encoding.ASCII.GetBytes(word);
        try
        {
            // A blocking open and write (sysfs answers at once), kept off the caller's thread.
            await Task.Run(
                () =>
                {
                    using var stream = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
                    stream.Write(bytes);
                },
                cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TapBackendException(operation, $"Writing '{word}' to {file} failed: {e.Message}", null, e);
        }
    }
}
