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

if (args is [ToolLatencyFigures.Command, string nativeXen])
{
    return await ToolLatencyFigures.RunAsync(nativeXen).ConfigureAwait(false);
}

if (args is [EventChannelFigures.Command])
{
    return await EventChannelFigures.RunAsync().ConfigureAwait(false);
}

if (args is [EventChannelFigures.ShimmedCommand, string shimDirectory])
{
    return await EventChannelFigures.RunShimmedAsync(shimDirectory).ConfigureAwait(false);
}

if (args is [XenStoreDaemons.ServeCommand, string socket])
{
    return await XenStoreDaemons.ServeAsync(socket).ConfigureAwait(false);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
