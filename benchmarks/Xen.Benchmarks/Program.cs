using BenchmarkDotNet.Running;
using Xen.Benchmarks;

if (args is [StoreMemory.Command])
{
    return await StoreMemory.RunAsync().ConfigureAwait(false);
}

if (args is [StoreMemory.ServeCommand, string socket])
{
    return await StoreMemory.ServeAsync(socket).ConfigureAwait(false);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
