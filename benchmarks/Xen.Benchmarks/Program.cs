using BenchmarkDotNet.Running;
using Xen.Benchmarks;
using Xen.Benchmarks.Infrastructure;

if (args is [StoreDaemonFigures.Command])
{
    return await StoreDaemonFigures.RunAsync().ConfigureAwait(false);
}

if (args is [StoreDaemonFigures.CpuCommand])
{
    return await StoreDaemonFigures.RunCpuAsync().ConfigureAwait(false);
}

if (args is [XenstoreDaemons.ServeCommand, string socket])
{
    return await XenstoreDaemons.ServeAsync(socket).ConfigureAwait(false);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
