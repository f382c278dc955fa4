using System.Globalization;
using Afm.Compression.Allocation;
using Afm.Compression.Storage;
using Afm.Core.Spec;

namespace Afm.Compression.Reports;

/// <summary>Turns the quantize stage's measurements into the rounded, deterministic <see cref="QuantizationReport"/>.</summary>
internal static class ReportBuilder
{
    private const int MaxFrontierPoints = 24;

    public static QuantizationReport Build(ModelSpec spec, QuantizationPlanSpec plan, List<LayerPlan> layers,
        Dictionary<string, LayerCandidates> candidates, IReadOnlyList<QuantizedTensor> chosen,
        BitAllocation? allocation, List<LayerPlan> allocatable, int validationSequences,
        double calibrationFloatLoss, double floatLoss, (double Loss, double Divergence) quantized, (double Loss, double Divergence)? baseline,
        IReadOnlyDictionary<string, float[]> original,
        IReadOnlyList<DeviceCosts> devices, IReadOnlyDictionary<string, double[]> hessians)
    {
        var chosenByName = chosen.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var runtime = RuntimeForms.Of(chosen, spec.Architecture.TieEmbeddings);
        var layerReports = layers.Select(l => Layer(l, chosenByName[l.WeightName], candidates.GetValueOrDefault(l.WeightName), plan, original)
            with { Devices = DeviceReport.Layer(devices, l, chosenByName[l.WeightName]),
                RuntimeForm = runtime[l.WeightName].Form, ResidentBytes = runtime[l.WeightName].Bytes,
                OutputError = chosenByName[l.WeightName] is FloatTensor || !hessians.TryGetValue(l.WeightName, out var h) ? null
                    : R(RelativeOutputError(original[l.WeightName], chosenByName[l.WeightName], h), 5) }).ToList();
        long quantizedParameters = layers.Where(l => l.IsQuantized).Sum(l => l.Count);
        long quantizedBytes = layers.Where(l => l.IsQuantized).Sum(l => chosenByName[l.WeightName].StorageBytes);
        long parameters = layers.Sum(l => l.Count);
        long bytes = chosen.Sum(t => t.StorageBytes);

        var totals = new Totals(parameters, quantizedParameters,
            quantizedParameters == 0 ? 0 : R(8.0 * quantizedBytes / quantizedParameters, 4), R(8.0 * bytes / parameters, 4), bytes, parameters * 4,
            R(layerReports.Sum(l => l.LossContribution ?? 0), 5), layerReports.Sum(l => l.ResidentBytes));
        var perplexity = new PerplexityReport(R(Math.Exp(floatLoss), 4), baseline is { } b ? R(Math.Exp(b.Loss), 4) : null, R(Math.Exp(quantized.Loss), 4),
            R(floatLoss, 5), baseline is { } bl ? R(bl.Loss, 5) : null, R(quantized.Loss, 5), R(calibrationFloatLoss, 5),
            R(quantized.Divergence, 6), baseline is { } bd ? R(bd.Divergence, 6) : null);

        var notes = new List<string>
        {
            $"Sensitivity is the calibration loss increase (nats/token) when one layer alone is quantized, measured on {plan.CalibrationSequences} training sequences; the predicted loss increase is their sum (an additive model).",
            $"Perplexities are measured on {validationSequences} validation sequences with the weights exactly as stored.",
        };
        notes.Add(devices.Count == 0
            ? "Estimated latency and energy per device are absent: the project declares no DeviceProfile (or only measured ones, which vary from run to run)."
            : "Device estimates are the profile stage's cost model for one decode step (one token at the profile's context length), not measurements; uniform layers are costed as palettes of the same bits.");
        if (plan.MaxLatencyMs is not null || plan.MaxEnergyMj is not null)
            notes.Add($"Bits were chosen under MaxLatencyMs/MaxEnergyMj on device '{plan.Device}' by Lagrangian relaxation then greedy repair (specs/quantization.md); the frontier is the bits budget's alone, and the chosen point may lie above it.");
        if (devices.Any(d => d.Measured))
            notes.Add("The budget device's costs were measured on the build machine: another build may measure other costs and choose other bits.");

        return new QuantizationReport
        {
            Plan = new PlanSummary(plan.Name, Lower(plan.Method), plan.Bits, plan.LowBits, plan.GroupSize, Lower(plan.LutType),
                plan.Embedding switch { EmbeddingFormat.Int8PerChannel => "int8-per-channel", EmbeddingFormat.Float => "float", _ => "quantize" },
                Lower(plan.Importance), plan.TargetBitsPerWeight, plan.MaxWeightBytes, plan.Device, plan.CalibrationSequences, validationSequences,
                plan.MaxLatencyMs, plan.MaxEnergyMj, Lower(plan.Rounding), plan.TuningSteps),
            Layers = layerReports,
            Totals = totals,
            Perplexity = perplexity,
            Frontier = Frontier(allocation, layers, allocatable, candidates, chosenByName, quantizedParameters, devices),
            Notes = notes,
            Devices = DeviceReport.Summaries(devices, plan, layers, chosenByName),
        };
    }

    private static LayerReport Layer(LayerPlan layer, QuantizedTensor tensor, LayerCandidates? options, QuantizationPlanSpec plan, IReadOnlyDictionary<string, float[]> original)
    {
        string format = tensor switch { PalettizedTensor => "palettize", UniformTensor => "uniform", Int8ChannelTensor => "int8-per-channel", _ => "float" };
        string role = layer.Role switch
        {
            LayerRole.Allocatable => "allocated", LayerRole.Fixed => "override", LayerRole.Int8Embedding => "embedding",
            LayerRole.Float => "float", _ => "vector",
        };
        Dictionary<string, double>? sensitivity = options is null || layer.Role == LayerRole.Float ? null
            : options.ToDictionary(o => o.Key > 0 ? o.Key.ToString(CultureInfo.InvariantCulture) : "int8", o => R(o.Value.Loss, 5));
        // A negative measured increase is noise of the calibration set; the allocator (and this prediction) counts it as 0.
        double? contribution = options is null || layer.Role == LayerRole.Float ? null
            : R(options.PredictedLoss(options.Count == 1 ? options.Keys.Single() : tensor.Bits), 5); // the chosen candidate (grid tuning may have replaced its tensor)
        double? error = tensor is FloatTensor ? null : R(RelativeError(original, tensor), 5);
        return new LayerReport(layer.Name, layer.Shape, layer.Count, format, role, tensor is FloatTensor ? null : tensor.Bits,
            tensor is PalettizedTensor ? plan.GroupSize : null, R(tensor.BitsPerWeight, 4), tensor.StorageBytes, error, sensitivity, contribution, null);
    }

    /// <summary>Relative Frobenius error ||W - Q(W)|| / ||W||.</summary>
    /// <remarks>
    /// Summed in element order over slices of <see cref="SliceElements"/> (the same sums as over whole arrays): the float values
    /// come from the weights file a slice at a time, so a 151,936 x 1024 embedding costs 2 x 4 MB here, not two 0.6 GB arrays
    /// (issue #15: the report was the quantize stage's peak on Qwen3's shapes).
    /// </remarks>
    private static double RelativeError(IReadOnlyDictionary<string, float[]> originals, QuantizedTensor tensor)
    {
        var original = new float[Math.Min(SliceElements, tensor.Count)];
        var restored = new float[original.Length];
        double error = 0, norm = 0;
        for (long first = 0; first < tensor.Count; first += original.Length)
        {
            int n = (int)Math.Min(original.Length, tensor.Count - first);
            Calibration.WeightsFileArrays.ReadRange(originals, tensor.Name, first, original.AsSpan(0, n));
            tensor.DequantizeRange(first, restored.AsSpan(0, n));
            for (int i = 0; i < n; i++)
            {
                double d = original[i] - (double)restored[i];
                error += d * d;
                norm += (double)original[i] * original[i];
            }
        }
        return norm > 0 ? Math.Sqrt(error / norm) : 0;
    }

    private const int SliceElements = 1 << 20;

    private static double RelativeOutputError(float[] original, QuantizedTensor tensor, double[] hessian)
    {
        int columns = (int)tensor.Columns;
        double signal = Quantizers.ErrorCompensation.OutputError(original, new float[original.Length], hessian, columns);
        return signal > 0 ? Math.Sqrt(Quantizers.ErrorCompensation.OutputError(original, tensor.Dequantize(), hessian, columns) / signal) : 0;
    }

    private static IReadOnlyList<FrontierEntry> Frontier(BitAllocation? allocation, List<LayerPlan> layers, List<LayerPlan> allocatable,
        Dictionary<string, LayerCandidates> candidates, Dictionary<string, QuantizedTensor> chosen, long quantizedParameters, IReadOnlyList<DeviceCosts> devices)
    {
        if (allocation is null || quantizedParameters == 0) return [];
        long fixedBits = layers.Where(l => l.Role == LayerRole.Fixed).Sum(l => chosen[l.WeightName].StorageBytes * 8);
        double fixedLoss = layers.Where(l => l.Role != LayerRole.Allocatable && l.Role != LayerRole.Vector && l.Role != LayerRole.Float)
            .Sum(l => Math.Max(0, candidates[l.WeightName].Values.Single().Loss));
        // A point's tensors: the chosen ones, with the allocatable layers at the point's options (the allocator's option order).
        Dictionary<string, DeviceEstimate>? Costs(IReadOnlyList<int> choices)
        {
            if (devices.Count == 0) return null;
            var tensors = new Dictionary<string, QuantizedTensor>(chosen, StringComparer.Ordinal);
            for (int i = 0; i < allocatable.Count; i++) tensors[allocatable[i].WeightName] = candidates[allocatable[i].WeightName].Values.ElementAt(choices[i]).Tensor;
            return DeviceReport.Model(devices, layers, tensors);
        }
        var points = allocation.Frontier;
        var picked = Enumerable.Range(0, MaxFrontierPoints).Select(i => points[(int)((long)i * (points.Count - 1) / Math.Max(1, MaxFrontierPoints - 1))])
            .Distinct().ToList();
        var entries = picked.Where(p => !p.Choices.SequenceEqual(allocation.Choices))
            .Select(p => new FrontierEntry(R(1.0 * (p.StorageBits + fixedBits) / quantizedParameters, 4), R(p.PredictedLoss + fixedLoss, 5), false, Costs(p.Choices)))
            .Append(new FrontierEntry(R(1.0 * (allocation.StorageBits + fixedBits) / quantizedParameters, 4), R(allocation.PredictedLoss + fixedLoss, 5), true, Costs(allocation.Choices)));
        return entries.OrderBy(e => e.BitsPerWeight).ThenBy(e => e.Chosen).ToList();
    }

    private static string Lower<T>(T value) where T : Enum => value.ToString().ToLowerInvariant();

    private static double R(double value, int decimals) => QuantizationReport.Round(value, decimals);
}
