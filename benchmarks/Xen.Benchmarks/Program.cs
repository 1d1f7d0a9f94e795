using BenchmarkDotNet.Running;
using Xen.Benchmarks;

if (args is [StoreDaemonFigures.Command])
{
    return await StoreDaemonFigures.RunAsync().ConfigureAwait(false);
}

if (args is [StoreDaemonFigures.CpuCommand])
{
    return await StoreDaemonFigures.RunCpuAsync().ConfigureAwait(false);
}

if (args is [StoreDaemonFigures.ServeCommand, string socket])
{
    return await StoreDaemonFigures.ServeAsync(socket).ConfigureAwait(false);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
