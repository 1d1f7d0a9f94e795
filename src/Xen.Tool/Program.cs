using System.CommandLine;
using Xen.Tool.Commands;
using Xen.Tool.Demo;

var root = new RootCommand("xen: Xen protocols from .NET (rings, xenstore, blktap).");

var demo = new Command("demo", "Run the end-to-end demo on embedded defaults (needs no Xen and nothing installed).");
demo.SetAction(async (parseResult, cancellationToken) => await RingDemo.RunAsync(Console.Out, cancellationToken).ConfigureAwait(false));
root.Subcommands.Add(demo);
Command store = StoreCommands.Create(); // read, write, ls, list, rm, exists, mkdir, chmod, watch
root.Subcommands.Add(store);
root.Subcommands.Add(ConsoleCommand.Create());
root.Subcommands.Add(BlktapCommands.Create());
root.Subcommands.Add(VchanCommands.Create());

// No @response files: xenstore watch paths (@introduceDomain, @releaseDomain) start with @.
// No System.CommandLine SIGINT/SIGTERM handler: the commands that outlive a signal (serve, console) register their own
// (SignalStop), and the others end on it as xenstore-utils do. Both handlers on one signal raced: the library's ran after
// the command had returned and its token source was disposed, and the process died with exit 134.
ParseResult parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
