using Afm.Core.Spec;
using Afm.Profiling.Formats;
using Afm.Profiling.Measurement;
using Afm.Profiling.Model;

namespace Afm.Profiling.Tests;

public sealed class MeasurementSpecs
{
    /// <summary>
    /// The cost model charges one launch per kernel ONNX Runtime runs; each op's micro graph, built from the exporter's
    /// own blocks, must run as exactly the kernels counted for that op in the optimized export, in both phases.
    /// </summary>
    public static TheoryData<bool> Shapes => [false, true];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_op_micro_graph_runs_the_kernels_the_optimized_export_has_for_that_op(bool generalized)
    {
        var arch = generalized ? Micro.Generalized() : Micro.Architecture();
        var timer = new OrtOpTimer(threads: 1, warmupRuns: 1, measuredRuns: 2);
        foreach (var (tokens, keys) in new[] { (4L, 4L), (1L, 9L) })
        {
            var ops = DecoderOpCosts.For(arch, tokens, keys, 4).Where(o => o.Group is "embed" or "layers.0" or "layers.1" or "head" || generalized).ToList();
            var times = timer.TimeAll(ops.Select(op => MicroGraphs.For(op, arch, tokens, keys)).ToList());
            for (int i = 0; i < ops.Count; i++)
            {
                Assert.True(times[i].Milliseconds > 0, $"{ops[i].Name}: no kernel time recorded");
                Assert.True(ops[i].Kernels == times[i].Kernels, $"{ops[i].Name} ({tokens} tokens): census {ops[i].Kernels}, micro graph ran {times[i].Kernels}");
            }
        }
    }

    /// <summary>The census (taken on a small model of the same structure) counts what the real-size export runs, op by op.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_kernel_of_the_whole_exported_model_is_attributed_to_an_op_with_the_census_count(bool generalized)
    {
        var arch = generalized ? Micro.Generalized() : Micro.Architecture() with { Layers = 3 };
        var model = ExportedDecoder.Export(arch);
        var timer = new OrtOpTimer(threads: 1, warmupRuns: 1, measuredRuns: 2);
        var nodes = timer.TimeNodes([WholeModel.Run(model, arch, Phase.Prefill, 5, 9), WholeModel.Run(model, arch, Phase.Decode, 5, 9)]);
        foreach (var phase in nodes)
        {
            var measured = WholeModel.PerOp(phase);
            Assert.DoesNotContain(KernelAttribution.Unscoped, measured.Keys);
            var ops = DecoderOpCosts.For(arch, 1, 9, 4);
            Assert.Equal(ops.Select(o => o.Name).Order(), measured.Keys.Where(k => ops.Any(o => o.Name == k)).Order());
            foreach (var op in ops) Assert.True(op.Kernels == measured[op.Name].Kernels, $"{op.Name}: census {op.Kernels}, ran {measured[op.Name].Kernels}");
            Assert.Equal(phase.Count, ops.Sum(o => o.Kernels));
        }
    }

    /// <summary>
    /// The graphs a plan may export besides the float one: fused contrib ops, resident weights (MatMulNBits at each width,
    /// GatherBlockQuantized), and both. Every kernel is attributed to an op with the census's count for the format that graph
    /// runs the op's weight in, and the kernels sum to what ran.
    /// </summary>
    public static TheoryData<bool, int> Forms => new() { { true, 0 }, { false, 4 }, { false, 8 }, { false, 2 }, { true, 4 } };

    [Theory]
    [MemberData(nameof(Forms))]
    public void Every_kernel_of_a_fused_or_resident_export_is_attributed_to_an_op_with_the_census_count(bool fused, int nbits)
    {
        var arch = Micro.Architecture() with { Layers = 3 };
        var form = new GraphForm(fused ? OnnxOps.Fused : OnnxOps.Standard, nbits);
        var model = ExportedDecoder.Export(arch, form);
        var timer = new OrtOpTimer(threads: 1, warmupRuns: 1, measuredRuns: 2);
        var nodes = timer.TimeNodes([WholeModel.Run(model, arch, Phase.Prefill, 5, 9, form.Ops), WholeModel.Run(model, arch, Phase.Decode, 5, 9, form.Ops)]);
        foreach (var phase in nodes)
        {
            var measured = WholeModel.PerOp(phase);
            Assert.DoesNotContain(KernelAttribution.Unscoped, measured.Keys);
            var ops = DecoderOpCosts.For(arch, 1, 9, 4, form: form);
            Assert.Equal(ops.Select(o => o.Name).Order(), measured.Keys.Order());
            foreach (var op in ops)
            {
                int expected = op.KernelsIn(form.FormatOf(op));
                Assert.True(expected == measured[op.Name].Kernels, $"{form.Name}, {op.Name}: census {expected}, ran {measured[op.Name].Kernels}");
            }
            Assert.Equal(phase.Count, ops.Sum(o => o.KernelsIn(form.FormatOf(o))));
            if (nbits != 0) Assert.Contains(phase, n => n.OpType == "MatMulNBits");
            if (fused) Assert.Contains(phase, n => n.OpType == "GroupQueryAttention");
        }
    }

    [Fact]
    public void Kernels_are_attributed_by_the_scopes_of_their_names_and_residuals_by_creation_order()
    {
        string[] names =
        [
            "embed/Gather_3", "positions/Shape_0", "layers.0/layers.0.attn_norm/Mul_21/SimplifiedLayerNormFusion/",
            "layers.0/attention/layers.0.attn.q_norm/Mul_30/SimplifiedLayerNormFusion/", "layers.0/rope/MatMul_46",
            "layers.0/attention/MatMul_59/MatMulScaleFusion/", "layers.0/Add_69", "layers.0/layers.0.mlp_norm/Pow_70",
            "layers.0/swiglu/Mul_79/QuickGeluFusion/", "layers.0/layers.0.mlp.down_proj/Gemm_81", "layers.0/Add_82",
            "head/norm/Mul_155/SimplifiedLayerNormFusion/", "head/embed/Gemm_156", "head/Reshape_158", "Cast_9",
        ];
        Assert.Equal(
        [
            "embed", "positions", "layers.0.attn_norm", "layers.0.attn.qk_norm", "layers.0.attn.rope", "layers.0.attn.attention",
            "layers.0.attn_residual", "layers.0.mlp_norm", "layers.0.mlp.swiglu", "layers.0.mlp.down_proj", "layers.0.mlp_residual",
            "norm", "lm_head", "lm_head", KernelAttribution.Unscoped,
        ], KernelAttribution.Attribute(names));
    }

    [Fact]
    public void Graphs_timed_together_come_back_in_their_order_with_their_kernels()
    {
        var graphs = HostCalibration.Graphs(Micro.Architecture(), 4);
        var times = new OrtOpTimer(threads: 1, warmupRuns: 1, measuredRuns: 3).TimeAll(graphs);
        // Stream, Gemm, batched MatMul, two MatMulNBits sizes at 4 and at 2 bits, 4 norms over rows timed after one that is not
        // (each fused into one kernel), then one Gemm per projection shape.
        const int n = HostCalibration.NBitsProducts;
        Assert.Equal([HostCalibration.StreamKernels, 1, 1, n, n, n, n, 4, .. HostCalibration.ProductShapes(Micro.Architecture()).Select(_ => 1)],
            times.Skip(1).Select(t => t.Kernels));
        // The chain's RMSNorm and SiLU run fused, as in the export: fewer kernels than nodes.
        Assert.InRange(times[0].Kernels, 10, graphs[0].Nodes - 1);
        Assert.All(times, t => Assert.True(t.Milliseconds > 0));
    }

    [Fact]
    public void A_resident_graph_is_calibrated_with_a_prompts_MatMulNBits_at_every_projection_shape_per_width()
    {
        var arch = Micro.Architecture();
        var shapes = HostCalibration.ProductShapes(arch);
        int floatGraphs = HostCalibration.Graphs(arch, 4).Count;
        Assert.Empty(HostCalibration.PromptWidths(GraphForm.Float));
        foreach (var (activations, widths) in new[] { (RuntimeActivations.Float32, new[] { 4, 2 }), (RuntimeActivations.Int8, new[] { 4, 2, 8 }) })
        {
            var form = new GraphForm(OnnxOps.Standard, 4, activations);
            Assert.Equal(widths, HostCalibration.PromptWidths(form));
            var graphs = HostCalibration.Graphs(arch, 4, form);
            Assert.Equal(floatGraphs + widths.Length * shapes.Count, graphs.Count);
            // Each a single MatMulNBits over the prompt's rows (8 bits one node: only with int8 activations), timed after the
            // untimed norm that wakes the threads.
            var prompt = graphs.Skip(floatGraphs).ToList();
            Assert.All(prompt, g => Assert.Equal(1, g.UntimedKernels));
            var times = new OrtOpTimer(threads: 1, warmupRuns: 1, measuredRuns: 2).TimeAll(prompt);
            Assert.All(times, t => Assert.Equal(1, t.Kernels));
        }
    }

    [Fact]
    public void Calibration_reads_a_prompts_further_tokens_through_MatMulNBits_beyond_one_tokens_product()
    {
        var arch = Micro.Architecture();
        var form = new GraphForm(OnnxOps.Standard, 4);
        var shapes = HostCalibration.ProductShapes(arch);
        // The float calibration's times as in Calibration_reads_rates_beyond_the_per_kernel_cost (10 us per kernel; MatMulNBits
        // 4 G elements/s at 4 bits, 0.5 at 2), then 4 tokens through MatMulNBits per shape: 10 us, one token's elements at the
        // width's rate, 3 more x 2 x elements FLOPs at 5 GFLOP/s (4 bits) and 4 (2 bits).
        double gemmUs = 2.0 * 4 * 64 * HostCalibration.GemmOutputs(arch) / 10e3;
        (double, int)[] floatTimes = [(0.160, 16), ((80 + 24.576) / 1e3, 8), ((10 + gemmUs) / 1e3, 1), ((10 + 1.024) / 1e3, 1),
            (33.384 / 1e3, 1), (82.536 / 1e3, 1), (144.072 / 1e3, 1), (537.288 / 1e3, 1), (0.060, 4),
            .. shapes.Select(p => ((10 + 2.0 * 4 * p.Inputs * p.Outputs / 20e3) / 1e3, 1))];
        double PromptUs(long elements, double oneTokenRate, double rate) => 10 + elements / (oneTokenRate * 1e3) + 3 * 2.0 * elements / (rate * 1e3);
        var (device, info) = HostCalibration.FromTimes(BuiltInDeviceProfiles.HostBeforeCalibration, 2, arch, 4,
            [.. floatTimes, .. shapes.Select(p => (PromptUs(p.Inputs * p.Outputs, 4, 5) / 1e3, 1)), .. shapes.Select(p => (PromptUs(p.Inputs * p.Outputs, 0.5, 4) / 1e3, 1))],
            form);
        Assert.Equal(2 * shapes.Count, device.MatMulNBitsPromptGFlops!.Count);
        Assert.All(shapes, p =>
        {
            Assert.Equal(5, device.MatMulNBitsPromptRateGFlops(4, p.Inputs, p.Outputs), 6);
            Assert.Equal(4, device.MatMulNBitsPromptRateGFlops(2, p.Inputs, p.Outputs), 6);
            // The float products keep their own rate.
            Assert.Equal(20, device.ProductRateGFlops(p.Inputs, p.Outputs), 6);
        });
        Assert.Contains("MatMulNBits [4,in]x[in,out] at every projection shape at 4 and 2 bits", info.Method);
        // A float graph's calibration measures none.
        Assert.Null(HostCalibration.FromTimes(BuiltInDeviceProfiles.HostBeforeCalibration, 2, arch, 4, floatTimes).Device.MatMulNBitsPromptGFlops);
    }

    /// <summary>
    /// The profile stage calibrates with the graphs, runs and quantile the bench verifies against the whole model, and its
    /// graphs run fused as the export does (all optimizations): the chain's RMSNorm and SiLU are single kernels.
    /// </summary>
    [Fact]
    public void The_stage_calibration_is_the_one_the_bench_verifies()
    {
        var timer = HostCalibration.Timer(threads: 1);
        Assert.Equal((HostCalibration.WarmupRuns, HostCalibration.MeasuredRuns, HostCalibration.TimingQuantile), (timer.WarmupRuns, timer.MeasuredRuns, timer.Quantile));
        var arch = Micro.Architecture();
        var (device, info) = HostCalibration.Calibrate(BuiltInDeviceProfiles.HostBeforeCalibration, 1, arch, 4);
        Assert.Equal(HostCalibration.MethodFor(4, arch.ModelDim, arch.Heads, arch.HeadDim, arch.FfnDim), info.Method);
        Assert.Contains("all optimizations", info.Method);
        Assert.True(device.Calibrate && device.LaunchOverheadUs > 0 && device.MemoryBandwidthGBps > 0 && device.Fp32GFlops > 0 && device.AttentionGFlops > 0);
    }

    [Fact]
    public void Calibration_reads_rates_beyond_the_per_kernel_cost()
    {
        var arch = Micro.Architecture(); // d 64, 4 heads of 16
        // kernel chain 16 kernels in 160 us -> 10 us per kernel; stream 8 x 10 us + 8 x 3 x 4 x 64 x 4 B in 24.576 us -> 1 GB/s;
        // gemm (outputs: the widest FFN) 10 + 2 x 4 x 64 x f FLOPs in 0.0512 f us -> 10 GFLOP/s; batched 10 + 2 x 4 x 4 x 4 x 16 FLOPs
        // in 1.024 us -> 2 GFLOP/s.
        double gemmUs = 2.0 * 4 * 64 * HostCalibration.GemmOutputs(arch) / 10e3;
        // MatMulNBits [1024 | 4096 rows x 64]: 4 bits 10 + 7 + 65536 elements at 4 G/s, then 196608 more elements in 49.152 us more;
        // 2 bits 10 + 3 + 65536 at 0.5 G/s, then 393.216 us more.
        var (device, info) = HostCalibration.FromTimes(BuiltInDeviceProfiles.HostBeforeCalibration, 2, arch, 4,
            [(0.160, 16), ((80 + 24.576) / 1e3, 8), ((10 + gemmUs) / 1e3, 1), ((10 + 1.024) / 1e3, 1),
             (33.384 / 1e3, 1), (82.536 / 1e3, 1), (144.072 / 1e3, 1), (537.288 / 1e3, 1), (0.060, 4),
             // each projection shape's product: 10 us + its FLOPs at 20 GFLOP/s
             .. HostCalibration.ProductShapes(arch).Select(p => ((10 + 2.0 * 4 * p.Inputs * p.Outputs / 20e3) / 1e3, 1))]);
        Assert.Equal(10, device.LaunchOverheadUs, 9);
        Assert.Equal(1, device.MemoryBandwidthGBps, 9);
        Assert.Equal(10, device.Fp32GFlops, 6);
        Assert.Equal(2, device.AttentionGFlops, 6);
        Assert.Equal(2, info.MeasuredAttentionGFlops!.Value, 6);
        Assert.Equal((4.0, 7.0), (device.MatMulNBitsGOps(4), device.MatMulNBitsParallelUs(4)), new PairTolerance(1e-9));
        Assert.Equal((0.5, 3.0), (device.MatMulNBitsGOps(2), device.MatMulNBitsParallelUs(2)), new PairTolerance(1e-9));
        Assert.Equal(4.0, info.MeasuredMatMulNBitsGOps![4], 9);
        // 4 norms over rows in 60 us: 15 us per kernel, QK-norm's fixed cost.
        Assert.Equal(15, device.RowsNormOverheadUs!.Value, 9);
        Assert.Equal(HostCalibration.ProductShapes(arch).Count, device.ProductGFlops!.Count);
        Assert.All(HostCalibration.ProductShapes(arch), p => Assert.Equal(20, device.ProductRateGFlops(p.Inputs, p.Outputs), 6));
        // A shape without a measured rate runs at the compute rate.
        Assert.Equal(10, device.ProductRateGFlops(3, 5), 6);
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

    private sealed class PairTolerance(double tolerance) : IEqualityComparer<(double, double)>
    {
        public bool Equals((double, double) x, (double, double) y) => Math.Abs(x.Item1 - y.Item1) <= tolerance && Math.Abs(x.Item2 - y.Item2) <= tolerance;
        public int GetHashCode((double, double) obj) => 0;
    }
}
