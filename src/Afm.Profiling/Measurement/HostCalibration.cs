using Afm.Core.Spec;
using Afm.Onnx.Graph;
using Afm.Profiling.Profile;

namespace Afm.Profiling.Measurement;

/// <summary>
/// Calibrates the <c>host</c> profile by measuring this machine with ONNX Runtime, on benchmark graphs sized like the
/// model's kernels but never the model's ops (specs/profiling.md, "host"): the per-kernel cost from a chain of
/// element-wise kernels of one token's size, memory bandwidth from the same chain at a prompt's size, the compute
/// rate from a product at the model's inner dimension, and the attention rate from a batched product over the head
/// dimension. Predicting the model's ops with the result is a test of the cost model, not a fit to the answers.
/// </summary>
public static class HostCalibration
{
    /// <summary>Independent adds of the bandwidth benchmark.</summary>
    public const int StreamKernels = 8;
    /// <summary>
    /// Outputs of the calibration Gemm: the model's widest feed-forward projection, the products that dominate a prompt. A
    /// fixed 512 outputs (a weight that stays in L2) ran ~2x the rate of dim768-12l's [128, 768] x [768, 2048] products, so
    /// prefill of that model was under-predicted by 57-66% (specs/profiling.md).
    /// </summary>
    public static long GemmOutputs(ArchitectureSpec arch) => Enumerable.Range(0, arch.Layers).Max(l => (long)arch.Layer(l).FfnDim);
    /// <summary>
    /// The runs' 20th percentile per kernel: on the shared build machine (load 25 on 2 cores when measured) it moved
    /// least between repetitions; the median let descheduled runs of multi-threaded kernels in (specs/profiling.md).
    /// </summary>
    public const double TimingQuantile = 0.2;

    /// <summary>Warm-up runs before the timed ones.</summary>
    public const int WarmupRuns = 5;
    /// <summary>
    /// Timed runs per graph, the same in the profile stage and in bench/Afm.Bench.Profiling, which verifies the
    /// calibration against the whole model: 41 runs let one repetition in six read decode attention 5x slow under load.
    /// </summary>
    public const int MeasuredRuns = 121;

    /// <summary>The timer of the calibration, for the profile stage and for the bench that verifies it.</summary>
    public static OrtOpTimer Timer(int threads, int measuredRuns = MeasuredRuns) =>
        new(threads, WarmupRuns, measuredRuns) { Quantile = TimingQuantile };

    /// <summary>The description of the method recorded with the profile (<see cref="CalibrationInfo.Method"/>).</summary>
    public static string MethodFor(long tokens, long dim, long heads, long headDim, long gemmOutputs, IReadOnlyList<int>? promptWidths = null) =>
        $"onnxruntime-cpu kernel times (all optimizations): a chain of the optimized export's kernel types at [1,{dim}] (per kernel), {StreamKernels} adds of separate [{tokens},{dim}] inputs (bandwidth), " +
        $"gemm {tokens}x{dim}x{gemmOutputs}, batched matmul {heads}x[{tokens}x{headDim}]x[{headDim}x{tokens}], " +
        $"{NBitsProducts} MatMulNBits in a row [1,{dim}]x[{dim},{string.Join("|", NBitsRows)}] at {string.Join(" and ", NBitsWidths)} bits (rate and fixed cost of a split product), 4 norms of [{NormRows},{headDim}] after one untimed, each after 3 one-thread kernels (per multi-row norm kernel), gemm [{tokens},in]x[in,out] at every projection shape of the model (rate per shape)"
        + (promptWidths is { Count: > 0 } ? $", MatMulNBits [{tokens},in]x[in,out] at every projection shape at {string.Join(" and ", promptWidths)} bits (a prompt's further tokens per shape)" : "");

    /// <summary>The widths whose MatMulNBits rate is measured (8 bits run as two 4-bit halves).</summary>
    public static readonly int[] NBitsWidths = [4, 2];
    /// <summary>
    /// Rows of the two MatMulNBits products per width: both large enough to be split across threads, so the slope between
    /// them is the rate and what is left of the smaller one beyond it the fixed cost of a split product.
    /// </summary>
    private static readonly long[] NBitsRows = [1024, 4096];

    /// <summary>
    /// Measures this machine for the profile stage as the bench verifies it (<see cref="PredictedVsMeasured.CalibrateAndCompare"/>):
    /// the same graphs and timer, interleaved round by round with the exported model (prefill and a decode step), whose
    /// times are not used. Timed alone, the small graphs kept their inputs in cache from one round to the next and read
    /// ~3x the bandwidth and 0.6-0.9x the per-kernel cost, under-predicting the model by 14-42%; between runs of the
    /// model their inputs are as cold as the model's own.
    /// </summary>
    /// <param name="form">The graph the project exports (null: float, standard operators): the model the graphs interleave with.</param>
    public static (DeviceProfileSpec Device, CalibrationInfo Info) Calibrate(DeviceProfileSpec host, int threads, ArchitectureSpec arch, int promptTokens,
        int? contextTokens = null, Model.GraphForm? form = null)
    {
        form ??= Model.GraphForm.Float;
        var graphs = Graphs(arch, promptTokens, form);
        var model = ExportedDecoder.Export(arch, form);
        int context = contextTokens ?? arch.MaxSequenceLength;
        var timed = Timer(threads).TimeAll([.. graphs, WholeModel.Run(model, arch, Formats.Phase.Prefill, promptTokens, context, form.Ops),
            WholeModel.Run(model, arch, Formats.Phase.Decode, promptTokens, context, form.Ops)]);
        return FromTimes(host, threads, arch, promptTokens, timed.Take(graphs.Count).ToList(), form);
    }

    /// <summary>
    /// The benchmark graphs, in the order <see cref="FromTimes"/> reads their times. Public so that a comparison can
    /// time them interleaved with the ops it predicts (<see cref="PredictedVsMeasured"/>).
    /// </summary>
    /// <param name="form">The graph the project exports (null: float, standard operators): MatMulNBits is timed at its activations,
    /// and over a prompt at every projection shape when its weights run resident.</param>
    public static IReadOnlyList<MicroGraph> Graphs(ArchitectureSpec arch, long tokens, Model.GraphForm? form = null)
    {
        form ??= Model.GraphForm.Float;
        var activations = form.Activations;
        long d = arch.ModelDim, hd = arch.HeadDim, heads = arch.Heads, outputs = GemmOutputs(arch);
        return
        [
            KernelChain(d, hd, (float)arch.NormEpsilon),
            Stream(tokens, d),
            FloatProduct(tokens, d, outputs),
            Graph(w => w.Finish("batched", w.Graph.Node("MatMul", [Woken(w, w.FloatInput("a", heads, tokens, hd), hd), w.FloatInput("b", heads, hd, tokens)]), heads, tokens, tokens))
                with { UntimedKernels = 1 },
            .. NBitsWidths.SelectMany(bits => NBitsRows.Select(rows => NBitsProduct(d, rows, bits, activations, NBitsProducts))),
            RowsNormChain(hd, (float)arch.NormEpsilon, NormRows),
            .. ProductShapes(arch).Select(s => FloatProduct(tokens, s.Inputs, s.Outputs)),
            .. PromptWidths(form).SelectMany(bits => ProductShapes(arch).Select(s => NBitsProduct(s.Inputs, s.Outputs, bits, activations, tokens: tokens))),
        ];
    }

    /// <summary>A float Gemm [tokens, inputs] x [inputs, outputs], as the export runs a projection, after an untimed norm (<see cref="Woken"/>).</summary>
    public static MicroGraph FloatProduct(long tokens, long inputs, long outputs) => Graph(w => w.Finish($"gemm{inputs}x{outputs}",
        w.Graph.Node("Gemm", [Woken(w, w.FloatInput("x", tokens, inputs), inputs), w.Weight("w", outputs, inputs)], null, Attr.Int("transB", 1)), tokens, outputs))
        with { UntimedKernels = 1 };

    /// <summary>
    /// <paramref name="x"/> through a norm that is run but not timed (the graph's <see cref="MicroGraph.UntimedKernels"/>): a prompt's
    /// first kernel split across threads wakes them from their sleep between runs (18-34 us, AMD EPYC Zen 5, load 14-20), which
    /// the model pays once per run; in it a projection follows a norm, as here. A product first in its graph read that wake as
    /// its own: the sample's 4-bit q_proj [128 -> 128] of 128 tokens took 51 us alone and 44 in the model, three kernels included.
    /// </summary>
    private static string Woken(MicroGraphWriter w, string x, long columns) =>
        new Afm.Onnx.Export.DecoderOps(w.Graph, 1e-5f).RmsNorm(x, w.Weight("wake", columns));

    /// <summary>
    /// The widths whose MatMulNBits is timed over a prompt at every projection shape: none for a graph whose weights are float
    /// (its profile does not cost MatMulNBits), else 4 and 2 bits, and with int8 activations 8 bits, one node there (with float
    /// ones two 4-bit halves). Each its own because the kernels differ (d 128, 2 threads, AMD EPYC Zen 5, load 15): with float
    /// activations 2 bits dequantize the weight slowly once (x1 124 us, x128 140 us for [352 -> 128]) and 4 bits run further
    /// tokens at 1.3x the float Gemm's rate; with int8 ones 4 and 8 bits ran 0.7-1.1x and 2 bits 0.5-0.7x it.
    /// </summary>
    public static IReadOnlyList<int> PromptWidths(Model.GraphForm? form) =>
        form is not { Resident: true } ? [] : form.Activations == RuntimeActivations.Int8 ? [4, 2, 8] : [4, 2];

    /// <summary>
    /// Every distinct [in -> out] shape of the model's projections and its output projection, in a fixed order: a CPU's product
    /// rate depends on the shape (measured on dim768-12l, 2 threads: [768 -> 768] 97, [768 -> 2048] 46, [2048 -> 768] 17
    /// GFLOP/s at 128 tokens), so one rate under-predicted its prompt by 57-66% (specs/profiling.md).
    /// </summary>
    public static IReadOnlyList<(long Inputs, long Outputs)> ProductShapes(ArchitectureSpec arch)
    {
        long d = arch.ModelDim, hd = arch.HeadDim;
        var shapes = new List<(long, long)>();
        for (int l = 0; l < arch.Layers; l++)
        {
            var s = arch.Layer(l);
            shapes.AddRange([(d, s.Heads * hd), (d, s.KvHeads * hd), (s.Heads * hd, d), (d, s.FfnDim), (s.FfnDim, d)]);
        }
        shapes.Add((d, arch.VocabSize));
        return shapes.Distinct().ToList();
    }

    /// <summary>
    /// <paramref name="count"/> norms chained over [<paramref name="rows"/>, hd] (several short rows, as QK-norm normalizes each
    /// head, not its count) after one that is run but not timed. The first norm of a run wakes the session's threads from their
    /// sleep between runs (18-34 us where the next ones take 7, sample, AMD EPYC Zen 5, load 14-20); the model pays that once
    /// per run, in its first split kernel, while its QK-norm kernels took 6-7 us. Averaged in, it read 12-13 us per kernel, which
    /// ranked QK-norm above the projections it runs below and kept the 4-bit sample's decode Spearman under 0.9.
    /// </summary>
    /// <remarks>
    /// Each norm follows kernels that run on one thread (a scaling, a negation, a scaling: a few hundred elements), as QK-norm
    /// follows its projection and a reshape, and only the norms are timed. Back to back (a norm right after a norm) the threads
    /// were still awake: on a quiet machine (load 1.6-3.9) the chain read 6-13 us a kernel where the model's QK-norm kernels
    /// took 16-22, the threads asleep again after its one-thread kernels; under load (14-20) both took 6-7.
    /// </remarks>
    public static MicroGraph RowsNormChain(long hd, float epsilon, long rows, int count = 4) => Graph(w =>
    {
        var g = w.Graph;
        var ops = new Afm.Onnx.Export.DecoderOps(g, epsilon);
        var x = w.FloatInput("x", rows, hd);
        for (int i = 0; i <= count; i++)
        {
            if (i > 0) x = g.Node("Mul", [g.Node("Neg", [g.Node("Mul", [x, g.FloatScalar(0.5f)])]), g.FloatScalar(-2f)]);
            x = ops.RmsNorm(x, w.Weight($"scale{i}", hd));
        }
        return w.Finish("rows-norm", x, rows, hd);
    }) with { UntimedKernels = 1, TimedOpType = "SimplifiedLayerNormalization" };

    private const long NormRows = 8;

    /// <summary>
    /// One token [1, d] times a resident [rows, d] weight of <paramref name="bits"/> (random indices, the exporter's
    /// MatMulNBits node): a decode step's product at the model's inner dimension but none of its shapes (rows 512).
    /// <paramref name="products"/> independent products of the same x (separate weights) run one after the other, as a model's
    /// projections do: a product alone in its graph found the thread pool asleep and paid ~67 us to wake it (dim768, load ~25),
    /// where the model's projections, each right after other kernels, paid ~15.
    /// </summary>
    /// <param name="tokens">Rows of x: 1 for a decode step's product, the prompt for a prefill's.</param>
    public static MicroGraph NBitsProduct(long d, long rows, int bits, RuntimeActivations activations = RuntimeActivations.Float32, int products = 1, long tokens = 1) => Graph(w =>
    {
        int block = Formats.WeightFormat.NBitsBlock(d) ?? 16;
        long blocks = d / block;
        var x = w.FloatInput("x", tokens, d);
        // A prompt's product after an untimed norm, as in the model (Woken); one token's products time their wake (the split cost).
        if (tokens > 1) x = Woken(w, x, d);
        var outputs = new List<(string, long[])>();
        for (int p = 0; p < products; p++)
        {
            var packed = new byte[rows * d * bits / 8];
            new Random(bits + 16 * p).NextBytes(packed);
            var layout = new Afm.Onnx.Export.NBitsLinear.Layout(bits, block, packed, Enumerable.Repeat(1f / 512, (int)(rows * blocks)).ToArray(),
                Enumerable.Repeat((byte)(1 << (bits - 1)), (int)(rows * blocks)).ToArray());
            var name = products == 1 ? $"nbits{bits}" : $"nbits{bits}-{p}";
            outputs.Add((Afm.Onnx.Export.NBitsLinear.Emit(w.Graph, x, name, rows, d, layout, null, name, activations), [tokens, rows]));
        }
        return w.Finish($"nbits{bits}", outputs);
    }) with { UntimedKernels = tokens > 1 ? 1 : 0 };

    /// <summary>Products per MatMulNBits calibration graph (<see cref="NBitsProduct"/>); its time per product is the graph's over its kernels.</summary>
    public const int NBitsProducts = 4;

    /// <summary>
    /// The calibrated profile from the times of <see cref="Graphs"/> (in their order) and the kernels ONNX Runtime
    /// ran for each: a kernel its optimizer removed is not counted (it would read as a cheaper kernel).
    /// </summary>
    public static (DeviceProfileSpec Device, CalibrationInfo Info) FromTimes(DeviceProfileSpec host, int threads, ArchitectureSpec arch, long tokens,
        IReadOnlyList<(double Milliseconds, int Kernels)> times, Model.GraphForm? form = null)
    {
        form ??= Model.GraphForm.Float;
        var activations = form.Activations;
        long d = arch.ModelDim, hd = arch.HeadDim, heads = arch.Heads;
        double Us(int i) => times[i].Milliseconds * 1e3;
        // One token's kernels move a few hundred bytes: their time is the fixed cost of a kernel.
        double overheadUs = Us(0) / times[0].Kernels;
        // The roofline adds the fixed cost to the time of the work, so the rates are read from what is beyond it.
        double StreamUs(int i, int kernels) => Math.Max(Us(i) - kernels * overheadUs, 0.05 * Us(i));
        double bandwidth = times[1].Kernels * 3.0 * tokens * d * 4 / (StreamUs(1, times[1].Kernels) * 1e-6) / 1e9;
        double gflops = 2.0 * tokens * d * GemmOutputs(arch) / (StreamUs(2, 1) * 1e-6) / 1e9;
        double attentionGflops = 2.0 * heads * tokens * tokens * hd / (StreamUs(3, 1) * 1e-6) / 1e9;
        // MatMulNBits: the weight elements dequantized per second beyond the kernel's fixed cost and the product's FLOPs at
        // the Gemm's rate (CostModel charges both).
        var nbitsRates = new Dictionary<int, double>();
        var nbitsParallelUs = new Dictionary<int, double>();
        for (int k = 0; k < NBitsWidths.Length; k++)
        {
            int small = 4 + 2 * k, large = small + 1;
            double Product(int i) => Us(i) / times[i].Kernels;
            double smallElements = NBitsRows[0] * d, largeElements = NBitsRows[1] * d;
            // The slope: elements per microsecond between the two sizes (a faster larger graph under load: the smaller's average).
            double slopeUs = Math.Max(Product(large) - Product(small), 0.05 * Product(large));
            double rate = (largeElements - smallElements) / (slopeUs * 1e-6) / 1e9;
            nbitsRates[NBitsWidths[k]] = rate;
            nbitsParallelUs[NBitsWidths[k]] = Math.Max(0, Product(small) - overheadUs - smallElements / (rate * 1e3));
        }

        // Several short rows per norm: the kernel's fixed cost (the bytes are a few KB).
        int rowsAt = 4 + 2 * NBitsWidths.Length;
        double rowsNormUs = Us(rowsAt) / times[rowsAt].Kernels;
        var shapes = ProductShapes(arch);
        var productRates = shapes.Select((s, i) => (Key: DeviceProfileSpec.ProductKey(s.Inputs, s.Outputs),
            Rate: 2.0 * tokens * s.Inputs * s.Outputs / (StreamUs(rowsAt + 1 + i, 1) * 1e-6) / 1e9)).ToDictionary(p => p.Key, p => p.Rate);
        // MatMulNBits over a prompt: the further tokens' FLOPs over what the product takes beyond one token's (a kernel, the
        // elements at the one-token rate, the split cost), as CostModel charges them.
        var widths = PromptWidths(form);
        int promptAt = rowsAt + 1 + shapes.Count;
        var promptRates = new Dictionary<string, double>();
        for (int k = 0; k < widths.Count; k++)
            for (int i = 0; i < shapes.Count; i++)
            {
                var (inputs, outputs) = shapes[i];
                long elements = inputs * outputs;
                // One token of 8 bits (one node with int8 activations) is costed at the 4-bit rate.
                int oneToken = widths[k] == 8 ? 4 : widths[k];
                double us = Us(promptAt + k * shapes.Count + i), firstUs = overheadUs + elements / (nbitsRates[oneToken] * 1e3)
                    + (elements > Model.CostModel.ParallelElements ? nbitsParallelUs[oneToken] : 0);
                promptRates[DeviceProfileSpec.NBitsProductKey(widths[k], inputs, outputs)] =
                    2.0 * (tokens - 1) * elements / (Math.Max(us - firstUs, 0.05 * us) * 1e-6) / 1e9;
            }
        var device = host with
        {
            ComputeType = ComputeType.Fp32,
            Fp32GFlops = gflops,
            // The CPU provider has no faster fp16 or integer path for these ops: fp16 and lookups run at the fp32 rate.
            Fp16GFlops = gflops,
            Int8GOps = gflops,
            AttentionGFlops = attentionGflops,
            MatMulNBits4GOps = nbitsRates[4],
            MatMulNBits2GOps = nbitsRates[2],
            MatMulNBits4ParallelUs = nbitsParallelUs[4],
            MatMulNBits2ParallelUs = nbitsParallelUs[2],
            MatMulNBitsInt8Activations = activations == RuntimeActivations.Int8 ? true : null,
            ProductGFlops = productRates,
            MatMulNBitsPromptGFlops = widths.Count > 0 ? promptRates : null,
            MemoryBandwidthGBps = bandwidth,
            LaunchOverheadUs = overheadUs,
            RowsNormOverheadUs = rowsNormUs,
            MemoryGB = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1e9,
            Calibrate = true,
        };
        return (device, new CalibrationInfo(MethodFor(tokens, d, heads, hd, GemmOutputs(arch), widths), gflops, bandwidth, overheadUs, threads) { MeasuredAttentionGFlops = attentionGflops, MeasuredMatMulNBitsGOps = nbitsRates, MeasuredMatMulNBitsParallelUs = nbitsParallelUs, MeasuredRowsNormOverheadUs = rowsNormUs });
    }

    /// <summary>
    /// One kernel of each type ONNX Runtime runs for the optimized export (lookup, add, product, the fused RMSNorm, the
    /// fused SiLU, softmax, reshape, transpose, unsqueeze, concat, the rotation's and the scaled products, gemm), built
    /// with the exporter's own blocks where it has one and chained at one token's size [1, d]: a few hundred bytes each,
    /// so their time is the fixed cost of a kernel. One of each type because their fixed costs differ (a reshape costs
    /// less than a product or a softmax), and a chain because inside a graph, as in the model, a kernel's input is the
    /// previous kernel's output.
    /// </summary>
    private static MicroGraph KernelChain(long d, long hd, float epsilon) => Graph(w =>
    {
        var g = w.Graph;
        var ops = new Afm.Onnx.Export.DecoderOps(g, epsilon);
        var y = w.FloatInput("y", 1, d);
        var x = ops.Embed(w.Weight("table", 4, d), w.IdsInput("ids", 4, 1, 1));
        x = ops.RmsNorm(g.Node("Add", [x, y]), w.Weight("scale", d));
        x = ops.SwiGlu(x, y);
        x = g.Node("Softmax", [x], null, Attr.Int("axis", -1));
        // [1, d] as heads [d/hd, hd]: rotated like rope (a product by [hd, hd]), transposed (a real one: ONNX Runtime
        // removes a transpose that only moves a dimension of 1), scaled product like attention's scores (FusedMatMul).
        var heads = ops.Unsqueeze(ops.Reshape(x, g.Int64s(d / hd, hd)), 0);
        var rotated = g.Node("MatMul", [heads, w.Weight("rotation", hd, hd)]);
        var scores = g.Node("Mul", [g.Node("MatMul", [rotated, ops.Transpose(rotated, 0, 2, 1)]), g.FloatScalar(0.125f)]);
        x = ops.Reshape(g.Node("Concat", [scores, rotated], null, Attr.Int("axis", -1)), g.Int64s(1, -1));
        // A product with an 8-row weight: its dispatch, not its bytes.
        long width = d / hd * (d / hd + hd);
        return w.Finish("kernel", ops.Linear(x, w.Weight("w", 8, width)), 1, 8);
    });

    /// <summary>
    /// Independent adds, each of two inputs of a prompt's size [n, d] that no other kernel touched: an op's first
    /// kernel reads what was written long before (another op, another run), not the previous kernel's hot output.
    /// </summary>
    private static MicroGraph Stream(long n, long d) => Graph(w =>
    {
        var outputs = new List<(string, long[])>();
        for (int i = 0; i < StreamKernels; i++)
            outputs.Add((w.Graph.Node("Add", [w.FloatInput($"x{i}", n, d), w.FloatInput($"y{i}", n, d)]), [n, d]));
        return w.Finish("stream", outputs);
    });

    private static MicroGraph Graph(Func<MicroGraphWriter, MicroGraph> build) => build(new MicroGraphWriter(7));
}
