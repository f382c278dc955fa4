using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>The scan every end-to-end process's output goes through (Infrastructure/InternalErrorScan.cs).</summary>
public sealed class InternalErrorScanTests
{
    [Theory]
    [InlineData("afm: error AFM9003: internal compiler error: ArgumentException: No sequences to evaluate")]
    [InlineData("Unhandled exception. System.IO.IOException: Address already in use")]
    [InlineData("   at Afm.Compression.Evaluator.MeanLoss(IPackedSequences sequences) in /src/Evaluator.cs:line 42")]
    [InlineData("   at System.Net.Sockets.Socket.Bind(EndPoint localEP)")]
    public void An_internal_error_or_a_stack_frame_is_found(string line) =>
        Assert.Single(InternalErrorScan.Find("progress: train core: step 3/10\n" + line + "\nBuild FAILED."));

    [Theory]
    [InlineData("/tmp/p/micro.afmproj(12,5): error AFM1003: Layers is '-2', but it must be greater than 0.")]
    [InlineData("  micro -> /tmp/p/bin/Debug/micro.0.3.0.afmpkg")]
    [InlineData("progress: adapters recovery-r4: step 2/4, loss at 1.93 nats/token")]
    public void Diagnostics_and_progress_are_not(string line) => Assert.Empty(InternalErrorScan.Find(line));
}
