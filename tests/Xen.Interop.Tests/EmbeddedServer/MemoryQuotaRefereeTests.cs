using System.Text;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Guests;
using Xen.TestSupport.Peers;
using Xunit.Abstractions;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// C xenstored 4.17 as referee of the <c>memory</c> quota: a guest over its ring writes under a small quota until it is
/// refused, and the bytes <c>xenstore-control quota DOMID</c> reports for it, the point of refusal and its error (EIO,
/// C's), a WATCH at the quota (ENOMEM), dom0 writing into or giving the guest a node at its quota, and the guest served again once dom0
/// removes some of its nodes or raises the quota, must all be the same against our drop-in daemon.
/// </summary>
[Trait("Category", "Interop")]
public class MemoryQuotaRefereeTests(ITestOutputHelper output)
{
    private const uint DomainId = 5;
    private const uint Port = 3;
    private const int Quota = 6000;

    [Fact]
    public async Task A_guest_is_refused_at_its_memory_quota_where_c_xenstored_refuses_it_and_counted_the_same()
    {
        (List<string> theirs, List<string> ours) = await RefereeScript.RunAsync(XenstoredKind.C, RunAsync, output);

        Assert.Equal(theirs, ours);
        Assert.Contains(theirs, line => line.StartsWith("guest writes: ", StringComparison.Ordinal) && line.EndsWith(" then EIO", StringComparison.Ordinal));
        Assert.Contains("dom0 node given to the guest: refused", theirs);
        Assert.Contains("guest watch at the quota: ENOMEM", theirs);
        Assert.Contains("guest write after the quota is raised: OK", theirs);
    }

    private static async Task RunAsync(string socket, string stateDirectory, List<string> log, CancellationToken token)
    {
        await using XenStoreClient dom0 = await XenStoreClient.ConnectAsync(socket, cancellationToken: token);
        string home = XsPath.DomainPath(DomainId);
        Task Step(string name, Func<Task<string>> operation) => RefereeScript.StepAsync(log, name, operation);
        static Task<string> Ok(Func<Task> operation) => RefereeScript.OkAsync(operation);

        static async Task<string> Refused(Func<Task> operation)
        {
            try
            {
                await operation();
                return "OK";
            }
            catch (XenStoreErrorException)
            {
                return "refused";
            }
        }

        // The guest's figure as xenstore-control's "quota DOMID" shows it (C's format: "memory          :     1234").
        async Task<string> Memory()
        {
            string report = Encoding.ASCII.GetString(await dom0.ControlAsync("quota", [DomainId.ToString(System.Globalization.CultureInfo.InvariantCulture)], token)).TrimEnd('\0');
            return report.Split('\n').Single(l => l.StartsWith("memory", StringComparison.Ordinal)).Split(':')[1].Trim();
        }

        await Step("quota set memory", async () => Encoding.ASCII.GetString(await dom0.ControlAsync("quota", ["set", "memory", $"{Quota}"], token)).TrimEnd('\0'));
        await using RingGuest ring = await RingGuest.IntroduceAsync(dom0, stateDirectory, DomainId, Port, token);
        XenStoreClient guest = ring.Client;
        await Step("memory after introduction", Memory);

        string value = new('v', 200);
        int written = 0;
        string refusal = "none";
        for (; written < 100; written++)
        {
            try
            {
                await guest.WriteAsync($"data/n{written}", value, token);
            }
            catch (XenStoreErrorException e)
            {
                refusal = e.RawError;
                break;
            }
        }

        log.Add($"guest writes: {written} then {refusal}");
        await Step("memory at the quota", Memory);
        // Less than one node's bytes are left: a watch whose token is longer does not fit, a short one does.
        await Step("guest watch at the quota", () => Ok(async () => await guest.WatchAsync("data", new string('t', 300), cancellationToken: token)));
        await Step("guest short watch at the quota", () => Ok(async () => await guest.WatchAsync("data", "short", cancellationToken: token)));
        await Step("guest shorter write at the quota", () => Ok(async () => await guest.WriteAsync("data/n0", "short", token)));
        await Step("dom0 longer write into the guest's node", () => Ok(async () => await dom0.WriteAsync($"{home}/data/n1", value + value, token)));
        // Refusals of a change to an existing node, where C answers whatever errno its last failed call left (its node
        // write returns EIO without setting errno): whether it is refused is compared.
        await Step("dom0 node given to the guest", () => Refused(async () =>
        {
            await dom0.WriteAsync("/given", value, token);
            await dom0.SetPermissionsAsync("/given", [new XsPermission(XsAccess.None, (ushort)DomainId)], token);
        }));
        await Step("guest longer write at the quota", () => Refused(async () => await guest.WriteAsync("data/n0", value + value, token)));
        await Step("dom0 write of its own node", () => Ok(async () => await dom0.WriteAsync("/dom0-own", value, token)));

        for (int i = 2; i < 6; i++)
        {
            await dom0.RemoveAsync($"{home}/data/n{i}", token);
        }

        await Step("memory after dom0 removes 4 nodes", Memory);
        await using (XenStoreWatch watch = await guest.WatchAsync("data", "w", cancellationToken: token))
        {
            await Step("guest watch's first event", async () => (await watch.ReadAsync(token)).Path);
            await Step("memory with the watch", Memory);
        }

        await Step("memory without the watch", Memory);
        await Step("quota set memory higher", async () => Encoding.ASCII.GetString(await dom0.ControlAsync("quota", ["set", "memory", $"{10 * Quota}"], token)).TrimEnd('\0'));
        await Step("guest write after the quota is raised", () => Ok(async () => await guest.WriteAsync("data/more/deeper", value, token)));
        await Step("memory at the end", Memory);
    }
}
