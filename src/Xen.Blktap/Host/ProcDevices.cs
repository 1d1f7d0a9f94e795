namespace Xen.Blktap.Host;

/// <summary>Reads <c>/proc/devices</c>: which drivers have registered device numbers.</summary>
internal static class ProcDevices
{
    /// <summary>Whether a line of <c>&lt;procRoot&gt;/devices</c> is <c>&lt;major&gt; &lt;driverName&gt;</c>; false when the file cannot be read.</summary>
    public static async ValueTask<bool> HasDriverAsync(string procRoot, string driverName, CancellationToken cancellationToken)
    {
        string devices;
        try
        {
            devices = await File.ReadAllTextAsync(Path.Combine(procRoot, "devices"), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        return devices.Split('\n').Any(line =>
        {
            string[] fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return fields.Length == 2 && fields[1] == driverName;
        });
    }
}
