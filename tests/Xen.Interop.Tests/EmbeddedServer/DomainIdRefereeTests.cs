using Xen.Store.Wire;
using Xen.TestSupport.Peers;
using Xunit.Abstractions;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// C xenstored 4.17 as referee of how a domid argument is read: C reads it with <c>atoi</c> (leading blanks and a sign,
/// digits up to the first other character, nothing is 0, the result taken as unsigned), so <c>5x</c> is domain 5,
/// <c>abc</c> domain 0 and <c>-1</c> 4294967295; INTRODUCE does not read its gfn at all; a permission's domid is read
/// with <c>strtoul</c> in any base and must be all digits. The same bytes go to each daemon over its socket.
/// </summary>
[Trait("Category", "Interop")]
public class DomainIdRefereeTests(ITestOutputHelper output)
{
    private static readonly string[] Expected =
    [
        "get_domain_path '5': GetDomainPath /local/domain/5|",
        "get_domain_path '5x': GetDomainPath /local/domain/5|",
        "get_domain_path 'abc': GetDomainPath /local/domain/0|",
        "get_domain_path '': GetDomainPath /local/domain/0|",
        "get_domain_path '-1': GetDomainPath /local/domain/4294967295|",
        "get_domain_path '+7': GetDomainPath /local/domain/7|",
        "get_domain_path ' 7': GetDomainPath /local/domain/7|",
        "get_domain_path '70000': GetDomainPath /local/domain/70000|",
        "get_domain_path '0x10': GetDomainPath /local/domain/0|",
        "get_domain_path '4294967296': GetDomainPath /local/domain/0|",
        "get_domain_path '99999999999': GetDomainPath /local/domain/1215752191|",
        "is_domain_introduced '0': IsDomainIntroduced T|",
        "is_domain_introduced 'abc': IsDomainIntroduced T|",
        "is_domain_introduced '5x': IsDomainIntroduced F|",
        "is_domain_introduced '32752': IsDomainIntroduced T|",
        "is_domain_introduced '32753': IsDomainIntroduced F|",
        "is_domain_introduced '-1': IsDomainIntroduced F|",
        "is_domain_introduced '70000': IsDomainIntroduced F|",
        "release 'abc': Error EINVAL|",
        "resume 'abc': Error EINVAL|",
        "release '0': Error EINVAL|",
        "resume '0': Error EINVAL|",
        "release '70000': Error ENOENT|",
        "resume '70000': Error ENOENT|",
        "release '9x': Error ENOENT|",
        "resume '9x': Error ENOENT|",
        "set_target 'abc' '0': SetTarget OK|",
        "set_target '9' '0': Error ENOENT|",
        "introduce '9' 'garbage' '0': Error EINVAL|",
        "introduce '9' '0' 'x': Error EINVAL|",
        "introduce '9' '0': Error EINVAL|",
        "introduce '9' 'garbage' '5x': Introduce OK|",
        "introduce '9x' '0' '5': Introduce OK|",
        "write /did/p: Write OK|",
        "set_perms /did/p 'n70000': Error ENOENT|",
        "get_perms /did/p: GetPerms n0|",
        "set_perms /did/p 'n0x10': SetPerms OK|",
        "get_perms /did/p: GetPerms n16|",
        "set_perms /did/p 'n010': SetPerms OK|",
        "get_perms /did/p: GetPerms n8|",
        "set_perms /did/p 'r5x': Error EINVAL|",
        "get_perms /did/p: GetPerms n8|",
        "set_perms /did/p 'n-1': Error ENOENT|",
        "get_perms /did/p: GetPerms n8|",
        "set_perms /did/p 'n': Error EINVAL|",
        "get_perms /did/p: GetPerms n8|",
        "set_perms /did/p 'b 5': SetPerms OK|",
        "get_perms /did/p: GetPerms b5|",
        "set_perms /did/p 'n4294967296': SetPerms OK|",
        "get_perms /did/p: GetPerms n0|",
        "set_perms /did/p 'n32753': Error ENOENT|",
        "get_perms /did/p: GetPerms n0|",
        "set_perms /did/p 'n0 r32753': SetPerms OK|",
        "get_perms /did/p: GetPerms n0|r32753|",
    ];

    [Fact]
    public async Task Our_server_reads_domid_arguments_as_c_xenstored_does()
    {
        var (theirs, ours) = await RefereeScript.RunAsync(XenstoredKind.C, (socket, _, log, token) => RunScriptAsync(socket, log, token), output);
        Assert.Equal(theirs, ours);
        Assert.Equal(Expected, ours);
    }

    private static async Task RunScriptAsync(string socketPath, List<string> log, CancellationToken token)
    {
        await using RawXenStoreConnection c = await RawXenStoreConnection.ConnectAsync(socketPath, token);
        async Task Step(string name, Task<string> answer) => log.Add($"{name}: {await answer}");

        foreach (string arg in new[] { "5", "5x", "abc", "", "-1", "+7", " 7", "70000", "0x10", "4294967296", "99999999999" })
        {
            await Step($"get_domain_path '{arg}'", c.CallAsync(XsMessageType.GetDomainPath, arg));
        }

        foreach (string arg in new[] { "0", "abc", "5x", "32752", "32753", "-1", "70000" })
        {
            await Step($"is_domain_introduced '{arg}'", c.CallAsync(XsMessageType.IsDomainIntroduced, arg));
        }

        foreach (string arg in new[] { "abc", "0", "70000", "9x" })
        {
            await Step($"release '{arg}'", c.CallAsync(XsMessageType.Release, arg));
            await Step($"resume '{arg}'", c.CallAsync(XsMessageType.Resume, arg));
        }

        await Step("set_target 'abc' '0'", c.CallAsync(XsMessageType.SetTarget, "abc", "0"));
        await Step("set_target '9' '0'", c.CallAsync(XsMessageType.SetTarget, "9", "0"));
        await Step("introduce '9' 'garbage' '0'", c.CallAsync(XsMessageType.Introduce, "9", "garbage", "0"));
        await Step("introduce '9' '0' 'x'", c.CallAsync(XsMessageType.Introduce, "9", "0", "x"));
        await Step("introduce '9' '0'", c.CallAsync(XsMessageType.Introduce, "9", "0"));
        await Step("introduce '9' 'garbage' '5x'", c.CallAsync(XsMessageType.Introduce, "9", "garbage", "5x"));
        await Step("introduce '9x' '0' '5'", c.CallAsync(XsMessageType.Introduce, "9x", "0", "5"));

        await Step("write /did/p", c.CallAsync(XsMessageType.Write, 0, ["/did/p"], "1"));
        foreach (string perm in new[] { "n70000", "n0x10", "n010", "r5x", "n-1", "n", "b 5", "n4294967296", "n32753" })
        {
            await Step($"set_perms /did/p '{perm}'", c.CallAsync(XsMessageType.SetPerms, "/did/p", perm));
            await Step("get_perms /did/p", c.CallAsync(XsMessageType.GetPerms, "/did/p"));
        }

        // A reserved domid is kept beside the owner (C ignores it in access checks, as no domain has it). C also keeps
        // entries above 16 bits (r70000, b-1); this server answers EINVAL for those (src/Xen.Store/README.md).
        await Step("set_perms /did/p 'n0 r32753'", c.CallAsync(XsMessageType.SetPerms, "/did/p", "n0", "r32753"));
        await Step("get_perms /did/p", c.CallAsync(XsMessageType.GetPerms, "/did/p"));
    }
}
