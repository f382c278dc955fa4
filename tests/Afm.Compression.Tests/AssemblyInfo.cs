using System.Runtime.CompilerServices;

// torch's thread count and default generator are process-wide: tests that run models must not interleave.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Afm.Compression.Tests;

internal static class TestProcess
{
#pragma warning disable CA2255 // a test assembly is the process's entry here: prepare torch before any test touches it
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Prepare() => Afm.Training.TorchRuntime.PrepareProcess();
}
