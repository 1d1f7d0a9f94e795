using BenchmarkDotNet.Running;
using Xen.Benchmarks;
using Xen.Benchmarks.Infrastructure;

if (args is [StoreDaemonFigures.Command, .. var memoryRest] && memoryRest.Length <= 1)
{
    return await StoreDaemonFigures.RunAsync(memoryRest.FirstOrDefault()).ConfigureAwait(false);
}

if (args is [StoreDaemonFigures.CpuCommand, .. var cpuRest] && cpuRest.Length <= 1)
{
    return await StoreDaemonFigures.RunCpuAsync(cpuRest.FirstOrDefault()).ConfigureAwait(false);
}

if (args is [StoreConnectionFigures.Command, .. var connectionsRest] && connectionsRest.Length <= 1)
{
    return await StoreConnectionFigures.RunAsync(connectionsRest.FirstOrDefault()).ConfigureAwait(false);
}

if (args is [StoreGuestFigures.Command, .. var guestsRest] && guestsRest.Length <= 1)
{
    return await StoreGuestFigures.RunAsync(guestsRest.FirstOrDefault()).ConfigureAwait(false);
}

if (args is [StorePipelineFigures.Command, .. var pipelineRest] && pipelineRest.Length <= 1)
{
    return await StorePipelineFigures.RunAsync(pipelineRest.FirstOrDefault()).ConfigureAwait(false);
}

if (args is [StoreDurabilityFigures.Command, .. var durabilityRest] && durabilityRest.Length <= 1)
{
    return await StoreDurabilityFigures.RunAsync(durabilityRest.FirstOrDefault()).ConfigureAwait(false);
}

if (args is [StoreLiveUpdateFigures.Command, .. var liveUpdateRest] && liveUpdateRest.Length <= 1)
{
    return await StoreLiveUpdateFigures.RunAsync(liveUpdateRest.FirstOrDefault()).ConfigureAwait(false);
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

if (args is [ConsoleFigures.Command])
{
    return await ConsoleFigures.RunAsync().ConfigureAwait(false);
}

if (args is [VchanFigures.Command, .. var vchanOptions]
    && vchanOptions.Length == vchanOptions.Distinct().Count()
    && vchanOptions.All(o => o is VchanFigures.PinnedOption or VchanFigures.TieredOption))
{
    return await VchanFigures.RunAsync(vchanOptions.Contains(VchanFigures.PinnedOption), vchanOptions.Contains(VchanFigures.TieredOption)).ConfigureAwait(false);
}

if (args is [VchanPeer.Command, .. var vchanRest])
{
    return await VchanPeer.RunAsync(vchanRest).ConfigureAwait(false);
}

if (args is [XenStoreDaemons.ServeCommand, string socket])
{
    return await XenStoreDaemons.ServeAsync(socket).ConfigureAwait(false);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
