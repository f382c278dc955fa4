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
        using var model = Trainer.LoadModel(spec.Architecture, inputs.WeightsPath);
        var weights = ModelWeights.Read(model);
        var original = weights.ToDictionary(w => w.Name, w => w.Values, StringComparer.Ordinal);
        var layers = LayerPlan.For(plan, weights.Select(w => (w.Name, w.Shape)));
        var warnings = LayerPlan.UnmatchedPatterns(plan, weights.Select(w => w.Name))
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
        var importance = plan.Importance == ImportanceKind.Fisher && plan.Method == QuantizationMethod.Palettize
            ? FisherImportance.Measure(model, inputs.Calibration, calibration) : null;
        // Measured for nearest rounding too: the report's per-layer output error needs them.
        var hessians = InputCovariance.Measure(model, inputs.Calibration, calibration);
        var quantizer = new LayerQuantizer(plan, spec.Seed, spec.Threads, importance, hessians);
        var sensitivity = new SensitivityAnalysis(model, inputs.Calibration, calibration);

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
            var options = new LayerCandidates();
            foreach (int bits in bitsChoices)
            {
                var tensor = quantizer.Quantize(layer, original[layer.WeightName], layer.IsQuantized ? bits : null);
                options[bits] = (tensor, layer.Role == LayerRole.Float ? 0 : sensitivity.LossIncrease(tensor, original[layer.WeightName]));
            }
            candidates[layer.WeightName] = options;
            progress?.Invoke($"quantize: {layer.Name} " + string.Join(", ", options.Select(o => o.Key > 0
                ? $"{o.Key} bits {SignedChange(o.Value.Item2)}" : $"{Describe(o.Value.Item1)} {SignedChange(o.Value.Item2)}")));
        }

        var allocatable = layers.Where(l => l.Role == LayerRole.Allocatable).ToList();
        var devices = inputs.Devices ?? [];
        var budgetDevice = devices.FirstOrDefault(d => string.Equals(d.Device, plan.Device, StringComparison.OrdinalIgnoreCase));
        var chosenBits = PlanAllocator.Allocate(plan, spec.ProjectPath, layers, allocatable, candidates, budgetDevice, out var allocation);
        IReadOnlyList<QuantizedTensor> chosen = layers.Select(l => l.Role == LayerRole.Vector ? new FloatTensor(l.WeightName, l.Shape, original[l.WeightName])
            : candidates[l.WeightName][l.Role == LayerRole.Allocatable ? chosenBits[l.WeightName] : candidates[l.WeightName].Keys.Single()].Tensor).ToList();

        using var reference = Trainer.LoadModel(spec.Architecture, inputs.WeightsPath);
        if (plan.TuningSteps > 0)
        {
            // Distinct training sequences for the steps, the calibration ones to check the result.
            var sequences = GridTuning.Sequences(inputs.Calibration, plan.TuningSteps);
            progress?.Invoke($"quantize: grid tuning, {plan.TuningSteps} steps on {sequences.Count} training sequences");
            chosen = GridTuning.Tune(model, reference, inputs.Calibration, sequences, calibration, chosen, plan.TuningSteps, plan.TuningLearningRate, progress);
        }

        progress?.Invoke("quantize: validation perplexity of float, quantized and uniform baseline");
        var validation = Evaluator.Spread(inputs.Validation, inputs.ValidationSequences);
        var (quantizedLoss, floatLoss, quantizedDivergence) = LossWith(model, reference, chosen.ToDictionary(t => t.Name, t => t.Dequantize()), inputs.Validation, validation);
        (double Loss, double ReferenceLoss, double Divergence)? baseline = plan.Method == QuantizationMethod.Palettize
            ? LossWith(model, reference, chosen.ToDictionary(t => t.Name, t => t is PalettizedTensor p ? LayerQuantizer.UniformAtEqualBits(p, original[t.Name]).Dequantize() : t.Dequantize()),
                inputs.Validation, validation)
            : null;
        ModelWeights.Load(model, original.ToDictionary(o => o.Key, o => (weights.First(w => w.Name == o.Key).Shape, o.Value)));

        // Measured profiles (the host) change from run to run: only the budget's own device may put them in the report.
        var reported = devices.Where(d => !d.Measured || d == budgetDevice).ToList();
        var report = ReportBuilder.Build(spec, plan, layers, candidates, chosen, allocation, allocatable, validation.Count,
            sensitivity.FloatLoss, floatLoss, (quantizedLoss, quantizedDivergence),
            baseline is { } b ? (b.Loss, b.Divergence) : null, original, reported, hessians);
        var metadata = new Dictionary<string, string>(SafeTensorsMetadata(inputs.WeightsPath), StringComparer.Ordinal)
        {
            ["afm.plan"] = plan.Name,
        };
        return new QuantizationResult(chosen, report, metadata, warnings);
    }

    /// <summary>Validation loss with <paramref name="values"/> in place, the float <paramref name="reference"/>'s, and the divergence from it.</summary>
    private static (double Loss, double ReferenceLoss, double Divergence) LossWith(Training.Model.AfmDecoder model, Training.Model.AfmDecoder reference,
        Dictionary<string, float[]> values, IPackedSequences source, IReadOnlyList<long> indices)
    {
        foreach (var (name, v) in values) ModelWeights.Set(model, name, v);
        return Evaluator.MeanLossAndDivergence(reference, model, source, indices);
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
