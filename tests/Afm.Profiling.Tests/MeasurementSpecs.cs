using Afm.Profiling.Measurement;
using Afm.Profiling.Model;

namespace Afm.Profiling.Tests;

public sealed class MeasurementSpecs
{
    /// <summary>The cost model charges one launch per ONNX node; the micro graphs that are timed must have exactly those nodes.</summary>
    [Fact]
    public void Every_op_kind_has_a_micro_graph_that_ONNX_Runtime_times_kernel_by_kernel()
    {
        var arch = Micro.Architecture();
        var timer = new OrtOpTimer(threads: 1, warmupRuns: 1, measuredRuns: 3);
        foreach (var op in DecoderOps.For(arch, 4, 4, 4).GroupBy(o => o.Kind).Select(g => g.First()))
        {
            var graph = MicroGraphs.For(op, arch, 4, 4);
            Assert.Equal(op.Kernels, graph.Nodes);
            var (ms, kernels) = timer.Time(graph);
            Assert.True(ms > 0, $"{op.Kind}: no kernel time recorded");
            Assert.Equal(op.Kernels, kernels);
        }
    }

    [Fact]
    public void Spearman_gives_tied_values_their_average_rank()
    {
        Assert.Equal([1.5, 1.5, 3], RankCorrelation.Ranks([2.0, 2.0, 5.0]));
        Assert.Equal(1.0, RankCorrelation.Spearman([1, 2, 3, 4], [10, 20, 30, 400]), 12);
        Assert.Equal(-1.0, RankCorrelation.Spearman([1, 2, 3], [3, 2, 1]), 12);
    }
}
