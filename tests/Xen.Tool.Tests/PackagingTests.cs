using System.Diagnostics;
using Xen.TestSupport.Peers;
using Xen.Tool.Tests.Support;

namespace Xen.Tool.Tests;

/// <summary>
/// What a consumer meets: the packages <c>dotnet pack</c> makes, used from a local folder by a fresh project outside
/// the solution, and the tool installed from the same folder.
/// </summary>
[Trait("Category", "Packaging")]
public sealed class PackagingTests : IDisposable
{
    private static readonly string[] Libraries = ["Xen.Rings", "Xen.Store", "Xen.Blktap", "Xen.Consoled"];
    private readonly string _work = Directory.CreateTempSubdirectory("xen-pack-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task The_packages_install_from_a_local_folder_into_a_fresh_project_and_the_tool_runs_from_it()
    {
        string repo = FindRepository();
        string feed = Path.Combine(_work, "feed");
        string[] libraries = Libraries.Where(l => File.Exists(Path.Combine(repo, "src", l, l + ".csproj"))).ToArray();
        foreach (string project in libraries.Append("Xen.Tool"))
        {
            // Only the packable projects: packing the solution would rebuild the test assembly that is running.
            ToolResult pack = await RunAsync("dotnet", ["pack", Path.Combine(repo, "src", project, project + ".csproj"), "-c", "Release", "-o", feed, "-nologo", "-v", "quiet"], repo);
            Assert.True(pack.ExitCode == 0, pack.ToString());
        }

        foreach (string package in libraries.Append("Xen.Tool"))
        {
            Assert.True(File.Exists(Path.Combine(feed, $"{package}.0.1.0.nupkg")), $"{package}.0.1.0.nupkg was not made; the feed has: {string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName))}");
        }

        foreach (string library in libraries)
        {
            Assert.True(File.Exists(Path.Combine(feed, $"{library}.0.1.0.snupkg")), $"{library} has no symbol package");
            using var zip = System.IO.Compression.ZipFile.OpenRead(Path.Combine(feed, $"{library}.0.1.0.nupkg"));
            string[] entries = zip.Entries.Select(e => e.FullName).ToArray();
            Assert.Contains($"lib/net10.0/{library}.dll", entries);
            Assert.Contains($"lib/net10.0/{library}.xml", entries);
            Assert.Contains("README.md", entries);
            string nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open()).ReadToEnd();
            Assert.Contains("<license type=\"expression\">MIT</license>", nuspec, StringComparison.Ordinal);
            Assert.Contains("<readme>README.md</readme>", nuspec, StringComparison.Ordinal);
        }

        string consumer = Path.Combine(_work, "consumer");
        Directory.CreateDirectory(consumer);
        await File.WriteAllTextAsync(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local"><package pattern="Xen.*" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        string references = string.Join("\n", libraries.Select(l => $"""    <PackageReference Include="{l}" Version="0.1.0" />"""));
        await File.WriteAllTextAsync(Path.Combine(consumer, "consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
            {references}
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(consumer, "Program.cs"), """
            using Xen.Rings.Console;
            using Xen.Rings.Memory;
            using Xen.Store.Client;
            using Xen.Store.Server;

            await using var server = await XenStoreServer.StartAsync();
            await using var dom0 = XenStoreClient.Create(server.ConnectInProcess());
            await using var watch = await dom0.WatchAsync("/consumer");
            await watch.ReadAsync();
            await dom0.WriteAsync("/consumer/key", "from a package");
            var change = await watch.ReadAsync();
            string value = await dom0.ReadStringAsync("/consumer/key");

            using var page = SharedPage.Allocate();
            new ConsoleFrontend(page.GetSpan()).Write("console"u8);
            byte[] buffer = new byte[16];
            int n = new ConsoleBackend(page.GetSpan()).Read(buffer);

            Console.WriteLine($"{value}|{change.Path}|{System.Text.Encoding.ASCII.GetString(buffer, 0, n)}");
            """);
        // The consumer must not see the repository's build settings (Directory.Build.props, central versions).
        await File.WriteAllTextAsync(Path.Combine(consumer, "Directory.Build.props"), "<Project />");
        await File.WriteAllTextAsync(Path.Combine(consumer, "Directory.Packages.props"), "<Project />");

        ToolResult run = await RunAsync("dotnet", ["run", "--project", consumer, "-nologo"], consumer);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("from a package|/consumer/key|console", run.OutputText.Trim().Split('\n')[^1]);

        string tools = Path.Combine(_work, "tools");
        ToolResult install = await RunAsync("dotnet", ["tool", "install", "Xen.Tool", "--version", "0.1.0", "--tool-path", tools, "--configfile", Path.Combine(consumer, "nuget.config")], consumer);
        Assert.True(install.ExitCode == 0, install.ToString());
        ToolResult demo = await RunAsync(Path.Combine(tools, "xen"), ["demo"], consumer);
        Assert.True(demo.ExitCode == 0, demo.ToString());
        Assert.Contains("demo: every step checked out", demo.OutputText, StringComparison.Ordinal);
    }

    private static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Xen.Protocols.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Xen.Protocols.sln not found above the test assembly.");
    }

    private static async Task<ToolResult> RunAsync(string program, string[] args, string directory)
    {
        // Packing takes minutes, beyond Deadline.Default: only the start is shared with PeerCommand.
        ProcessStartInfo psi = PeerCommand.StartInfo(program, args, new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" });
        psi.WorkingDirectory = directory;
        using Process p = Process.Start(psi)!;
        p.StandardInput.Close();
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(10));
        return new ToolResult(p.ExitCode, System.Text.Encoding.UTF8.GetBytes(await stdout), await stderr);
    }
}
