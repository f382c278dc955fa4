using System.Globalization;
using Afm.Compression.Allocation;
using Afm.Compression.Calibration;
using Afm.Compression.Quantizers;
using Afm.Compression.Reports;
using Afm.Compression.Storage;
using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training;
using Afm.Training.Stages;

namespace Afm.Compression;

/// <param name="Calibration">Sequences for importance and sensitivity (the last training stage's train split).</param>
/// <param name="Validation">Sequences for the report's perplexities (the last stage's validation split).</param>
/// <param name="Devices">Per-layer costs of every profiled device (the profile stage's profile.json files); the plan's
/// Device among them sets the latency/energy budgets, and the report estimates each layer on each.</param>
public sealed record QuantizationInputs(ModelSpec Spec, string WeightsPath, IPackedSequences Calibration, IPackedSequences Validation,
    int ValidationSequences = 256, IReadOnlyList<DeviceCosts>? Devices = null);

public sealed record QuantizationResult(IReadOnlyList<QuantizedTensor> Weights, QuantizationReport Report,
    IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<Diagnostic> Warnings);

/// <summary>
/// The quantize stage: importance -> candidate formats per layer -> measured sensitivity -> bit allocation
/// under the budgets -> the chosen weights and the report (specs/quantization.md).
/// </summary>
public static class QuantizationPipeline
{
    public const string WarningUnmatchedPattern = "AFM4103";
    public const string NoSequences = "AFM4107";

    public static QuantizationResult Run(QuantizationInputs inputs, Action<string>? progress = null)
    {
        var spec = inputs.Spec;
        var plan = spec.Quantization ?? throw new ArgumentException("The spec has no QuantizationPlan.", nameof(inputs));
        TorchRuntime.UseThreads(spec.Threads, spec.Determinism);
        // The float model is held once, in the decoder. Everything else is per layer: its float values are read again from
        // the weights file when needed, and the measured statistics wait in temporary files (issue #15: a 0.6B model held
        // about four fp32 copies here). The quantized model is evaluated on the same decoder, with the float values
        // swapped in for the reference's passes.
        using var model = Trainer.LoadModel(spec.Architecture, inputs.WeightsPath);
        var memory = new PhaseMemory(progress);
        var original = new WeightsFileArrays(inputs.WeightsPath);
        var shapes = model.named_parameters().Select(p => (Name: p.name, Shape: p.parameter.shape.ToArray())).ToList();
        long modelBytes = shapes.Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b)) * sizeof(float);
        var layers = LayerPlan.For(plan, shapes);
        var warnings = LayerPlan.UnmatchedPatterns(plan, shapes.Select(w => w.Name))
            .Select(p => new Diagnostic(DiagnosticSeverity.Warning, WarningUnmatchedPattern,
                $"Pattern '{p}' of QuantizationPlan '{plan.Name}' names no layer. Layer names are like {string.Join(", ", layers.Where(l => l.Role != LayerRole.Vector).Take(3).Select(l => l.Name))}.",
                plan.Location ?? SourceLocation.FileOnly(spec.ProjectPath))).ToList();

        // The data stage refuses a stage without validation (AFM2004); this stays a diagnostic, never an internal error,
        // for data packed by an older toolchain or by hand.
        if (inputs.Calibration.Count == 0 || inputs.Validation.Count == 0)
            throw new DiagnosticException(new Diagnostic(DiagnosticSeverity.Error, NoSequences,
                $"The quantize stage has no {(inputs.Calibration.Count == 0 ? "calibration" : "validation")} sequences in the last training stage's data "
                + $"('{spec.CalibrationStage!.Name}'): rebuild the data stage, and add text to the corpora if it reports too little to hold out.",
                spec.CalibrationStage.Location ?? plan.Location ?? SourceLocation.FileOnly(spec.ProjectPath)));
        var calibration = Evaluator.Spread(inputs.Calibration, plan.CalibrationSequences);
        progress?.Invoke($"quantize: importance ({plan.Importance}) and input second moments ({plan.Rounding} rounding) on {calibration.Count} calibration sequences");
        // Only the palettized layers use importance; the statistics of a large model are measured in groups of an eighth of it.
        using var importance = plan.Importance == ImportanceKind.Fisher && plan.Method == QuantizationMethod.Palettize
            ? FisherImportance.Measure(model, inputs.Calibration, calibration, layers.Where(l => l.IsQuantized).Select(l => l.WeightName).ToHashSet(StringComparer.Ordinal),
                StatisticsGroupBytes(modelBytes))
            : null;
        memory.Release("importance");
        // Measured for nearest rounding too: the report's per-layer output error needs them.
        using var hessians = InputCovariance.Measure(model, inputs.Calibration, calibration, StatisticsGroupBytes(modelBytes));
        var quantizer = new LayerQuantizer(plan, spec.Seed, spec.Threads, importance, hessians);
        memory.Release("second moments");
        // The float pass keeps each layer's calibration inputs (within the statistics' budget) for the passes from that layer on.
        using var sensitivity = new SensitivityAnalysis(model, inputs.Calibration, calibration, StatisticsGroupBytes(modelBytes));

        // Every candidate format of every layer, with its measured sensitivity.
        var candidates = new Dictionary<string, LayerCandidates>(StringComparer.Ordinal);
        foreach (var layer in layers.Where(l => l.Role != LayerRole.Vector))
        {
            var bitsChoices = layer.Role switch
            {
                LayerRole.Allocatable => new[] { plan.LowBits, plan.Bits }.Distinct(),
                LayerRole.Fixed => [layer.FixedBits!.Value],
                _ => [0],
            };
            // Every width is quantized first, so the layer's float array is garbage before the sensitivity passes, which put
            // the float values back from the weights file (the int8 embedding never has one: it is read a slice at a time).
            // Collected here, a layer's arrays do not pile up on the next one's until the large-object heap's budget runs out.
            var tensors = quantizer.Candidates(layer, original, bitsChoices);
            memory.Release(null);
            var options = new LayerCandidates();
            foreach (var (bits, tensor) in tensors)
                options[bits] = (tensor, layer.Role == LayerRole.Float ? 0
                    : sensitivity.LossIncrease(tensor, () => ModelWeights.Restore(model, layer.WeightName, original)));
            candidates[layer.WeightName] = options;
            progress?.Invoke($"quantize: {layer.Name} " + string.Join(", ", options.Select(o => o.Key > 0
                ? $"{o.Key} bits {SignedChange(o.Value.Item2)}" : $"{Describe(o.Value.Item1)} {SignedChange(o.Value.Item2)}")));
        }

        memory.Release("candidates and sensitivity");
        var allocatable = layers.Where(l => l.Role == LayerRole.Allocatable).ToList();
        var devices = inputs.Devices ?? [];
        var budgetDevice = devices.FirstOrDefault(d => string.Equals(d.Device, plan.Device, StringComparison.OrdinalIgnoreCase));
        var chosenBits = PlanAllocator.Allocate(plan, spec.ProjectPath, layers, allocatable, candidates, budgetDevice, out var allocation);
        IReadOnlyList<QuantizedTensor> chosen = layers.Select(l => l.Role == LayerRole.Vector ? new FloatTensor(l.WeightName, l.Shape, original[l.WeightName])
            : candidates[l.WeightName][l.Role == LayerRole.Allocatable ? chosenBits[l.WeightName] : candidates[l.WeightName].Keys.Single()].Tensor).ToList();

        if (plan.TuningSteps > 0)
        {
            // Distinct training sequences for the steps, the calibration ones to check the result.
            var sequences = GridTuning.Sequences(inputs.Calibration, plan.TuningSteps);
            progress?.Invoke($"quantize: grid tuning, {plan.TuningSteps} steps on {sequences.Count} training sequences");
            chosen = GridTuning.Tune(model, original, inputs.Calibration, sequences, calibration, chosen, plan.TuningSteps, plan.TuningLearningRate, progress);
        }

        memory.Release("allocation and tuning");
        progress?.Invoke("quantize: validation perplexity of float, quantized and uniform baseline");
        var validation = Evaluator.Spread(inputs.Validation, inputs.ValidationSequences);
        var variants = new List<IReadOnlyDictionary<string, Func<QuantizedTensor>>> { chosen.ToDictionary(t => t.Name, t => (Func<QuantizedTensor>)(() => t)) };
        if (plan.Method == QuantizationMethod.Palettize)
            variants.Add(chosen.ToDictionary(t => t.Name, t => t is PalettizedTensor p
                ? () => LayerQuantizer.UniformAtEqualBits(p, original[t.Name]) : (Func<QuantizedTensor>)(() => t)));
        var (floatLoss, losses) = LossesWith(model, original, variants, inputs.Validation, validation);
        var (quantizedLoss, quantizedDivergence) = losses[0];
        (double Loss, double Divergence)? baseline = losses.Length > 1 ? losses[1] : null;

        memory.Release("validation");
        // Measured profiles (the host) change from run to run: only the budget's own device may put them in the report.
        var reported = devices.Where(d => !d.Measured || d == budgetDevice).ToList();
        var report = ReportBuilder.Build(spec, plan, layers, candidates, chosen, allocation, allocatable, validation.Count,
            sensitivity.FloatLoss, floatLoss, (quantizedLoss, quantizedDivergence),
            baseline is { } b ? (b.Loss, b.Divergence) : null, original, reported, hessians);
        var metadata = new Dictionary<string, string>(SafeTensorsMetadata(inputs.WeightsPath), StringComparer.Ordinal)
        {
            ["afm.plan"] = plan.Name,
        };
        memory.Release("report");
        return new QuantizationResult(chosen, report, metadata, warnings);
    }

    /// <summary>
    /// Frees unused memory after each phase (<see cref="TorchRuntime.ReleaseFreeMemory"/>) and, with the environment variable
    /// AFM_PROFILE_MEMORY=1, prints the resident memory before and after with the phase's time (bench/Afm.Bench.Import).
    /// </summary>
    private sealed class PhaseMemory(Action<string>? progress)
    {
        private readonly bool print = Environment.GetEnvironmentVariable("AFM_PROFILE_MEMORY") == "1";
        private readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
        private TimeSpan last;

        /// <param name="phase">The phase just done, or null for a step inside one (released, not printed).</param>
        public void Release(string? phase)
        {
            long before = TorchRuntime.ResidentBytes();
            TorchRuntime.ReleaseFreeMemory();
            if (!print || phase is null) return;
            long after = TorchRuntime.ResidentBytes();
            var now = clock.Elapsed;
            progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"quantize: memory after {phase}: {(now - last).TotalSeconds:0.0} s, resident {before / 1e9:0.000} GB, {after / 1e9:0.000} GB after release; managed heap {GC.GetTotalMemory(false) / 1e9:0.000} GB"));
            last = clock.Elapsed;
        }
    }

    /// <summary>
    /// The bytes of measured statistics held at a time (FisherImportance, InputCovariance): an eighth of the model's fp32
    /// size, but never less than 16 MiB. Each group costs its own calibration passes, so a model whose statistics fit in
    /// 16 MiB anyway (the sample, every test model) is measured in one group, at its former cost; the values do not
    /// depend on the grouping (CalibrationGroupSpecs). The floor was 256 MiB: on 4 layers of Qwen3-0.6B's shapes (0.87 GB)
    /// the Fisher gradients and sums of one group then took 0.5 GB, 0.6x the model, above the 1.5x goal by themselves.
    /// </summary>
    private static long StatisticsGroupBytes(long modelBytes) => Math.Max(modelBytes / 8, 16L << 20);

    /// <summary>
    /// Validation loss of the float model, and the loss and divergence from it with each of <paramref name="variants"/> in place,
    /// on one decoder (<see cref="Evaluator.MeanLossesAndDivergencesInTurn"/>): the float values are put back once for the
    /// reference's pass over every batch, whose logits wait in a temporary file, then each variant is set once (each value
    /// computed once) for its own pass. Swapping per batch put back and computed a whole model's weights for every sequence.
    /// </summary>
    private static (double ReferenceLoss, (double Loss, double Divergence)[] Variants) LossesWith(Training.Model.AfmDecoder model,
        IReadOnlyDictionary<string, float[]> floats, IReadOnlyList<IReadOnlyDictionary<string, Func<QuantizedTensor>>> variants,
        IPackedSequences source, IReadOnlyList<long> indices)
    {
        using var kept = new SpilledArrays<float>();
        var shapes = new Dictionary<int, long[]>();
        return Evaluator.MeanLossesAndDivergencesInTurn(model,
            () => { foreach (var name in variants[0].Keys) ModelWeights.Restore(model, name, floats); },
            [.. variants.Select(values => (Action)(() => { foreach (var value in values.Values) ModelWeights.Set(model, value()); }))],
            (batch, logits) =>
            {
                using var values = logits.contiguous();
                shapes[batch] = values.shape;
                kept.Add(batch.ToString(CultureInfo.InvariantCulture), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(values.bytes));
            },
            batch => TorchSharp.torch.tensor(kept[batch.ToString(CultureInfo.InvariantCulture)], shapes[batch]),
            source, indices);
    }

    /// <summary>RoPE base and architecture travel with the weights, as in the float file.</summary>
    private static Dictionary<string, string> SafeTensorsMetadata(string weightsPath) =>
        Training.Checkpoints.SafeTensors.ReadMetadata(weightsPath);

    /// <summary>
    /// A loss change with its own sign and four decimals: "+0.0002", "-0.0000" for a decrease too small to show. A
    /// two-section format string ("+0.0000;-0.0000") printed "-+0.0000" for a negative value that rounds to zero.
    /// </summary>
    internal static string SignedChange(double value) =>
        (value < 0 ? "-" : "+") + Math.Abs(value).ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture);

    internal static string Describe(QuantizedTensor tensor) => tensor switch
    {
        Int8ChannelTensor => "int8", FloatTensor => "float", _ => $"{tensor.Bits} bits",
    };
}
