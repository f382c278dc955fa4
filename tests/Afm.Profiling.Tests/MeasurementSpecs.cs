using Afm.Core.Spec;
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
    public void Graphs_timed_together_come_back_in_their_order_with_their_kernels()
    {
        var graphs = HostCalibration.Graphs(Micro.Architecture(), 4);
        var times = new OrtOpTimer(threads: 1, warmupRuns: 1, measuredRuns: 3).TimeAll(graphs);
        Assert.Equal(graphs.Select(g => g.Nodes), times.Select(t => t.Kernels));
        Assert.Equal([HostCalibration.ChainKernels, HostCalibration.StreamKernels, 1, 1], graphs.Select(g => g.Nodes));
        Assert.All(times, t => Assert.True(t.Milliseconds > 0));
    }

    [Fact]
    public void Calibration_reads_rates_beyond_the_per_kernel_cost()
    {
        var arch = Micro.Architecture(); // d 64, 4 heads of 16
        // kernel chain 16 kernels in 160 us -> 10 us per kernel; stream 8 x 10 us + 8 x 3 x 4 x 64 x 4 B in 24.576 us -> 1 GB/s;
        // gemm 10 + 2 x 4 x 64 x 512 FLOPs in 26.2144 us -> 10 GFLOP/s; batched 10 + 2 x 4 x 4 x 4 x 16 FLOPs in 1.024 us -> 2 GFLOP/s.
        var (device, info) = HostCalibration.FromTimes(BuiltInDeviceProfiles.HostBeforeCalibration, 2, arch, 4,
            [(0.160, 16), ((80 + 24.576) / 1e3, 8), ((10 + 26.2144) / 1e3, 1), ((10 + 1.024) / 1e3, 1)]);
        Assert.Equal(10, device.LaunchOverheadUs, 9);
        Assert.Equal(1, device.MemoryBandwidthGBps, 9);
        Assert.Equal(10, device.Fp32GFlops, 6);
        Assert.Equal(2, device.AttentionGFlops, 6);
        Assert.Equal(2, info.MeasuredAttentionGFlops!.Value, 6);
        Assert.Equal(2, info.Threads);
    }

    [Fact]
    public void A_lower_quantile_reads_the_runs_that_were_not_slowed_down()
    {
        // One node, 1 warm-up run (100 us) then 5 runs; the slowest was descheduled.
        var runs = new[] { 100, 9, 10, 11, 12, 400 };
        var json = "[" + string.Join(",", runs.Select((us, i) =>
            $"{{\"cat\":\"Node\",\"name\":\"Add_0_kernel_time\",\"ts\":{i * 1000},\"dur\":{us},\"args\":{{\"op_name\":\"Add\"}}}}")) + "]";
        Assert.Equal(0.011, OrtOpTimer.Summarize(json, warmupRuns: 1).Milliseconds, 9);
        Assert.Equal(0.010, OrtOpTimer.Summarize(json, warmupRuns: 1, quantile: 0.2).Milliseconds, 9);
    }

    [Fact]
    public void Spearman_gives_tied_values_their_average_rank()
    {
        Assert.Equal([1.5, 1.5, 3], RankCorrelation.Ranks([2.0, 2.0, 5.0]));
        Assert.Equal(1.0, RankCorrelation.Spearman([1, 2, 3, 4], [10, 20, 30, 400]), 12);
        Assert.Equal(-1.0, RankCorrelation.Spearman([1, 2, 3], [3, 2, 1]), 12);
    }
}
