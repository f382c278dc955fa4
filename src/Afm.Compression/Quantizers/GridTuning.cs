using System.Globalization;
using Afm.Compression.Calibration;
using Afm.Compression.Storage;
using Afm.Data.Packing;
using Afm.Training.Model;
using Afm.Training.Optimization;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Compression.Quantizers;

/// <summary>
/// End-to-end tuning of the quantized layers' grids (specs/quantization.md, "Grid tuning"): with every index fixed,
/// the grid values — a palettized layer's LUT entries, a uniform layer's per-block scale and offset — are trained with
/// Adam to minimise KL(float || quantized) of the next-token distributions on training sequences, so the layers correct
/// each other's errors where the per-layer rounding (k-means, GPTQ, refits) sees one layer at a time.
/// The target is the float model's own distribution, never the data's next tokens: tuning brings the quantized model
/// closer to float and cannot train it past float on extra data. The stored format and size do not change. At the
/// end the values are rounded to their stored type (LUTs re-sorted, indices follow), and the tuned grids are kept only
/// when they lower the divergence on the check sequences.
/// </summary>
public static class GridTuning
{
    /// <summary>Sequences per step.</summary>
    public const int BatchSize = 4;

    /// <summary>
    /// The sequences <paramref name="steps"/> steps read as the quantize stage tunes: distinct ones spread evenly over
    /// <paramref name="source"/> (all of them, cycled, when it has fewer).
    /// </summary>
    public static IReadOnlyList<long> Sequences(IPackedSequences source, int steps) => Evaluator.Spread(source, steps * BatchSize);

    /// <summary>The weights with tuned grids (int8 and float tensors pass through unchanged and stay fixed).</summary>
    /// <param name="model">Loaded with the float weights; they are restored before returning. It also computes the target
    /// distribution: for that pass the float values are put back in (a second decoder would hold a second copy of the model).</param>
    /// <param name="floats">The float values of <paramref name="weights"/> (as the model holds them on entry), looked up per tensor.</param>
    /// <param name="sequences">Sequences the steps cycle through, <see cref="BatchSize"/> at a time, in order.</param>
    /// <param name="check">Sequences on which the tuned grids must lower the divergence to be kept.</param>
    /// <param name="learningRate">Adam's step in units of each tensor's mean grid spacing; decays linearly to a tenth.</param>
    public static IReadOnlyList<QuantizedTensor> Tune(AfmDecoder model, IReadOnlyDictionary<string, float[]> floats, IPackedSequences source,
        IReadOnlyList<long> sequences, IReadOnlyList<long> check, IReadOnlyList<QuantizedTensor> weights, int steps,
        double learningRate, Action<string>? progress = null)
    {
        var grids = weights.Select(Grid.For).OfType<Grid>().ToList();
        if (steps <= 0 || grids.Count == 0 || sequences.Count == 0 || check.Count == 0) return weights;
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        var requiresGrad = parameters.ToDictionary(p => p.Key, p => p.Value.requires_grad, StringComparer.Ordinal);
        var optimizer = new AdamWOptimizer(grids.SelectMany(g => g.Parameters).ToList(), weightDecay: 0);
        bool wasTraining = model.training;
        // What the model holds between float passes: each weight dequantized, then the grids' values once they train.
        Action quantized = () => { foreach (var w in weights) ModelWeights.Set(model, w); };
        Tensor Reference(Tensor inputs)
        {
            foreach (var w in weights) ModelWeights.Restore(model, w.Name, floats);
            var logits = model.forward(inputs);
            quantized();
            return logits;
        }
        try
        {
            quantized();
            foreach (var (name, p) in parameters) p.requires_grad = grids.Any(g => g.Name == name);
            model.eval();
            double before = Divergence(model, Reference, source, check);
            int length = source.SequenceLength, batch = Math.Min(BatchSize, sequences.Count);
            var buffer = new int[batch * (length + 1)];
            for (int step = 0; step < steps; step++)
            {
                using var scope = NewDisposeScope();
                for (int b = 0; b < batch; b++)
                    source.Read(sequences[(step * batch + b) % sequences.Count], buffer.AsSpan(b * (length + 1), length + 1));
                var inputs = tensor(buffer, [batch, length + 1]).narrow(1, 0, length).to_type(ScalarType.Int64);
                Tensor target;
                using (no_grad()) target = nn.functional.log_softmax(Reference(inputs), -1);
                var loss = nn.functional.kl_div(nn.functional.log_softmax(model.forward(inputs), -1), target,
                    reduction: nn.Reduction.Sum, log_target: true).div(batch * length);
                foreach (var g in grids) parameters[g.Name].grad?.zero_();
                optimizer.ZeroGrad();
                loss.backward();
                // dL/d(grid value) is the sum of dL/dw over the weights it produces: the gradient of <values(grid), dL/dW>.
                foreach (var g in grids) g.Values().mul(parameters[g.Name].grad!.flatten()).sum().backward();
                optimizer.Step(learningRate * (1 - 0.9 * step / steps), learningRate);
                using (no_grad()) foreach (var g in grids) parameters[g.Name].copy_(g.Values().view(parameters[g.Name].shape));
                if (step == 0)
                    quantized = () =>
                    {
                        using var noGrad = no_grad();
                        foreach (var w in weights)
                            if (grids.FirstOrDefault(g => g.Name == w.Name) is { } g) parameters[g.Name].copy_(g.Values().view(parameters[g.Name].shape));
                            else ModelWeights.Set(model, w);
                    };
                if (progress is not null && ((step + 1) % 20 == 0 || step + 1 == steps))
                    progress(string.Create(CultureInfo.InvariantCulture, $"quantize: grid tuning step {step + 1}/{steps}, KL {loss.item<float>():0.000000}"));
            }

            var tuned = grids.ToDictionary(g => g.Name, g => g.Stored(), StringComparer.Ordinal);
            quantized = () => { foreach (var w in weights) ModelWeights.Set(model, tuned.GetValueOrDefault(w.Name, w)); };
            quantized();
            double after = Divergence(model, Reference, source, check);
            progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"quantize: grid tuning, KL on {check.Count} check sequences {before:0.000000} -> {after:0.000000}{(after < before ? "" : ", kept the untuned grids")}"));
            return after < before ? weights.Select(w => tuned.GetValueOrDefault(w.Name, w)).ToList() : weights;
        }
        finally
        {
            foreach (var w in weights) ModelWeights.Restore(model, w.Name, floats);
            foreach (var (name, p) in parameters) p.requires_grad = requiresGrad[name];
            foreach (var g in grids) g.Dispose();
            optimizer.Dispose();
            if (wasTraining) model.train();
        }
    }

    private static double Divergence(AfmDecoder model, Func<Tensor, Tensor> reference, IPackedSequences source, IReadOnlyList<long> check) =>
        Evaluator.MeanLossAndDivergence([model], model.forward, reference, source, check).Divergence;

    /// <summary>
    /// One tensor's grid values as trainable vectors, in units of the tensor's mean grid spacing (so one learning rate
    /// suits layers of any scale), and how every weight is computed from them.
    /// </summary>
    private abstract class Grid(string name, double unit) : IDisposable
    {
        public string Name => name;
        protected double Unit => unit > 0 && double.IsFinite(unit) ? unit : 1;
        public abstract IReadOnlyList<OptimizedParameter> Parameters { get; }

        /// <summary>Every weight's value, flat row-major.</summary>
        public abstract Tensor Values();

        /// <summary>The tensor with the tuned values rounded to their stored type.</summary>
        public abstract QuantizedTensor Stored();

        public abstract void Dispose();

        protected TorchSharp.Modules.Parameter Trainable(float[] values) =>
            new(tensor(values.Select(v => (float)(v / Unit)).ToArray()));

        protected float[] Read(Tensor values)
        {
            using var scaled = values.detach().mul(Unit);
            return scaled.data<float>().ToArray();
        }

        public static Grid? For(QuantizedTensor tensor) => tensor switch
        {
            PalettizedTensor { ZeroPointTables: true } z => new ZeroPointLut(z),
            PalettizedTensor p => new Lut(p),
            UniformTensor { IntegerZeroPoints: true } z => new ZeroPointUniform(z),
            UniformTensor u => new Uniform(u),
            _ => null,
        };
    }

    private sealed class Lut : Grid
    {
        private readonly PalettizedTensor quantized;
        private readonly TorchSharp.Modules.Parameter entries;
        private readonly Tensor lookup;

        public Lut(PalettizedTensor quantized) : base(quantized.Name, MeanSpacing(quantized))
        {
            this.quantized = quantized;
            entries = Trainable(quantized.Lut);
            long columns = quantized.Columns;
            var flat = new long[quantized.Count];
            for (long i = 0; i < flat.Length; i++) flat[i] = i / columns / quantized.GroupSize * quantized.Entries + quantized.Indices[i];
            lookup = tensor(flat);
            Parameters = [new OptimizedParameter(quantized.Name + ".lut", entries, Decay: false)];
        }

        public override IReadOnlyList<OptimizedParameter> Parameters { get; }
        public override Tensor Values() => entries.index_select(0, lookup).mul(Unit);
        public override QuantizedTensor Stored() => Palettizer.WithTables(quantized, Read(entries));

        public override void Dispose()
        {
            entries.Dispose();
            lookup.Dispose();
        }

        private static double MeanSpacing(PalettizedTensor t) => t.Entries < 2 ? 1 : Enumerable.Range(0, (int)t.Groups)
            .Average(g => (double)t.Lut[g * t.Entries + t.Entries - 1] - t.Lut[g * t.Entries]) / (t.Entries - 1);
    }

    /// <summary>
    /// A palettized layer whose tables are zero-point grids (RuntimeForm="nbits"): only each group's scale trains, its zero
    /// point and every index stay, and the stored table is again <c>(e - zp) x scale</c> with the scale moved to where every
    /// entry is exact in fp16.
    /// </summary>
    private sealed class ZeroPointLut : Grid
    {
        private readonly PalettizedTensor quantized;
        private readonly int[] zeroPoints;
        private readonly TorchSharp.Modules.Parameter scale;
        private readonly Tensor group, level;

        public ZeroPointLut(PalettizedTensor quantized) : base(quantized.Name, Scales(quantized).Average(s => (double)s.Scale))
        {
            this.quantized = quantized;
            var grids = Scales(quantized);
            zeroPoints = grids.Select(g => g.ZeroPoint).ToArray();
            scale = Trainable(grids.Select(g => g.Scale).ToArray());
            long rowsPerGroup = quantized.GroupSize * quantized.Columns;
            group = arange(quantized.Count, ScalarType.Int64).div(rowsPerGroup, RoundingMode.floor);
            level = tensor(quantized.Indices.Select((i, k) => (float)(i - zeroPoints[k / rowsPerGroup])).ToArray());
            Parameters = [new OptimizedParameter(quantized.Name + ".lut_scale", scale, Decay: false)];
        }

        public override IReadOnlyList<OptimizedParameter> Parameters { get; }
        public override Tensor Values() => scale.index_select(0, group).mul(level).mul(Unit);

        public override QuantizedTensor Stored()
        {
            var bits = quantized.IndexBits;
            var lut = Read(scale).SelectMany((v, g) => ZeroPointPalette.Entries(bits, zeroPoints[g], ZeroPointPalette.LutScale(bits, zeroPoints[g], Math.Max(0, v))))
                .Select(e => (float)e).ToArray();
            return quantized with { Lut = lut };
        }

        public override void Dispose()
        {
            scale.Dispose();
            group.Dispose();
            level.Dispose();
        }

        private static (float Scale, int ZeroPoint)[] Scales(PalettizedTensor t) => Enumerable.Range(0, (int)t.Groups)
            .Select(g => ZeroPointPalette.Of(t.Lut.AsSpan(g * t.Entries, t.Entries))
                ?? throw new InvalidOperationException($"Group {g} of '{t.Name}' is not a zero-point table.")).ToArray();
    }

    private sealed class Uniform : Grid
    {
        private readonly UniformTensor quantized;
        private readonly TorchSharp.Modules.Parameter scale, offset;
        private readonly Tensor block, level;

        public Uniform(UniformTensor quantized) : base(quantized.Name, quantized.Scale.Average(s => (double)s))
        {
            this.quantized = quantized;
            scale = Trainable(quantized.Scale);
            offset = Trainable(quantized.Offset);
            block = arange(quantized.Count, ScalarType.Int64).div(quantized.BlockSize, RoundingMode.floor);
            level = tensor(quantized.Indices.Select(i => (float)i).ToArray());
            Parameters = [new OptimizedParameter(quantized.Name + ".scale", scale, Decay: false), new OptimizedParameter(quantized.Name + ".offset", offset, Decay: false)];
        }

        public override IReadOnlyList<OptimizedParameter> Parameters { get; }
        public override Tensor Values() => offset.index_select(0, block).add(scale.index_select(0, block).mul(level)).mul(Unit);

        public override QuantizedTensor Stored() =>
            quantized with { Scale = Read(scale).Select(v => Fp16.Round(v)).ToArray(), Offset = Read(offset).Select(v => Fp16.Round(v)).ToArray() };

        public override void Dispose()
        {
            scale.Dispose();
            offset.Dispose();
            block.Dispose();
            level.Dispose();
        }
    }

    /// <summary>
    /// A uniform layer with integer zero points (RuntimeForm="nbits"): only the scales train, each block's zero point stays,
    /// and the stored offset is again <c>-zp x scale</c> with the scale moved to where that product is exact in fp16.
    /// </summary>
    private sealed class ZeroPointUniform : Grid
    {
        private readonly UniformTensor quantized;
        private readonly int[] zeroPoints;
        private readonly TorchSharp.Modules.Parameter scale;
        private readonly Tensor block, level;

        public ZeroPointUniform(UniformTensor quantized) : base(quantized.Name, quantized.Scale.Average(s => (double)s))
        {
            this.quantized = quantized;
            zeroPoints = quantized.Scale.Select((s, b) => ZeroPointGrid.ZeroPoint(s, quantized.Offset[b], quantized.IndexBits)
                ?? throw new InvalidOperationException($"Block {b} of '{quantized.Name}' has no integer zero point.")).ToArray();
            scale = Trainable(quantized.Scale);
            block = arange(quantized.Count, ScalarType.Int64).div(quantized.BlockSize, RoundingMode.floor);
            level = tensor(quantized.Indices.Select((i, k) => (float)(i - zeroPoints[k / quantized.BlockSize])).ToArray());
            Parameters = [new OptimizedParameter(quantized.Name + ".scale", scale, Decay: false)];
        }

        public override IReadOnlyList<OptimizedParameter> Parameters { get; }
        public override Tensor Values() => scale.index_select(0, block).mul(level).mul(Unit);

        public override QuantizedTensor Stored()
        {
            var scales = Read(scale).Select((v, b) => ZeroPointGrid.ExactScale(zeroPoints[b], Math.Max(0, v))).ToArray();
            return quantized with { Scale = scales, Offset = scales.Select((s, b) => 0f - zeroPoints[b] * s).ToArray() };
        }

        public override void Dispose()
        {
            scale.Dispose();
            block.Dispose();
            level.Dispose();
        }
    }
}
