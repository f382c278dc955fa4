using Afm.Core.Spec;
using Afm.Profiling.Formats;
using Afm.Profiling.Model;

namespace Afm.Profiling.Measurement;

public sealed record OpComparison(string Name, OpKind Kind, double PredictedMs, double MeasuredMs);

public sealed record ComparisonReport(Phase Phase, IReadOnlyList<OpComparison> Ops)
{
    public double PredictedTotalMs => Ops.Sum(o => o.PredictedMs);
    public double MeasuredTotalMs => Ops.Sum(o => o.MeasuredMs);
    /// <summary>(predicted - measured) / measured of the whole model.</summary>
    public double TotalError => (PredictedTotalMs - MeasuredTotalMs) / MeasuredTotalMs;
    public double RankCorrelation => Measurement.RankCorrelation.Spearman(Ops.Select(o => o.PredictedMs).ToList(), Ops.Select(o => o.MeasuredMs).ToList());
}

/// <summary>
/// Predicts every op of a model on a (calibrated) host profile in fp32 and times the same op as a micro graph in
/// ONNX Runtime. Ops with the same kind and shapes (the same projection in every layer) are timed once.
/// </summary>
public static class PredictedVsMeasured
{
    public static ComparisonReport Compare(ArchitectureSpec arch, DeviceProfileSpec host, Phase phase, int promptTokens, int contextTokens,
        OrtOpTimer timer, Action<string>? progress = null)
    {
        var (tokens, keys) = DecoderOps.Workload(phase, promptTokens, contextTokens);
        var ops = DecoderOps.For(arch, tokens, keys, activationBytes: 4);
        var measured = new Dictionary<string, double>(StringComparer.Ordinal);
        var result = new List<OpComparison>();
        foreach (var op in ops)
        {
            var signature = $"{op.Kind}:{op.WeightRows}x{op.WeightColumns}:{op.Flops}:{op.ActivationBytes}";
            if (!measured.TryGetValue(signature, out var ms))
            {
                var graph = MicroGraphs.For(op, arch, tokens, keys);
                ms = measured[signature] = timer.Time(graph).Milliseconds;
                progress?.Invoke($"measured {op.Name} ({op.Kind}, {phase}): {ms * 1e3:0.0} us");
            }
            var predicted = CostModel.Cost(op, WeightFormat.Fp32, host, groupSize: 16).LatencyMs;
            result.Add(new OpComparison(op.Name, op.Kind, predicted, ms));
        }
        return new ComparisonReport(phase, result);
    }
}
