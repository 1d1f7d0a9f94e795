using System.CommandLine;
using Xen.Tool.Demo;

var root = new RootCommand("xen: Xen protocols from .NET (rings, xenstore, blktap).");

var demo = new Command("demo", "Run the end-to-end demo on embedded defaults (needs no Xen and nothing installed).");
demo.SetAction(async (parseResult, cancellationToken) => await RingDemo.RunAsync(Console.Out, cancellationToken).ConfigureAwait(false));
root.Subcommands.Add(demo);

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
