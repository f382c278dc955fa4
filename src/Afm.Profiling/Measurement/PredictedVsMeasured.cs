using Afm.Core.Spec;
using Afm.Profiling.Formats;
using Afm.Profiling.Model;
using Afm.Profiling.Profile;

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

/// <summary>A calibration of the host and both phases compared with it, all timed in the same rounds.</summary>
public sealed record CalibratedComparison(DeviceProfileSpec Host, CalibrationInfo Calibration, ComparisonReport Prefill, ComparisonReport Decode);

/// <summary>
/// Predicts every op of a model on a (calibrated) host profile in fp32 and times the same op as a micro graph in
/// ONNX Runtime. Ops with the same kind and shapes (the same projection in every layer) are timed once.
/// </summary>
public static class PredictedVsMeasured
{
    public static ComparisonReport Compare(ArchitectureSpec arch, DeviceProfileSpec host, Phase phase, int promptTokens, int contextTokens,
        OrtOpTimer timer, Action<string>? progress = null)
    {
        var workload = Distinct(arch, phase, promptTokens, contextTokens);
        var times = timer.TimeAll(workload.Graphs).Select(t => t.Milliseconds).ToList();
        return Report(workload, host, times, 0, progress);
    }

    /// <summary>
    /// Calibrates the host and measures both phases with every graph timed in the same interleaved rounds
    /// (<see cref="OrtOpTimer.TimeAll"/>): the calibration and the ops it predicts see the same load, so the
    /// comparison measures the cost model, not how the machine's load changed between two timings.
    /// </summary>
    public static CalibratedComparison CalibrateAndCompare(ArchitectureSpec arch, DeviceProfileSpec hostBeforeCalibration, int promptTokens,
        int contextTokens, OrtOpTimer timer, Action<string>? progress = null)
    {
        var calibration = HostCalibration.Graphs(arch, promptTokens);
        var prefill = Distinct(arch, Phase.Prefill, promptTokens, contextTokens);
        var decode = Distinct(arch, Phase.Decode, promptTokens, contextTokens);
        var timed = timer.TimeAll([.. calibration, .. prefill.Graphs, .. decode.Graphs]);
        var (host, info) = HostCalibration.FromTimes(hostBeforeCalibration, timer.Threads, arch, promptTokens, timed.Take(calibration.Count).ToList());
        var times = timed.Select(t => t.Milliseconds).ToList();
        return new CalibratedComparison(host, info,
            Report(prefill, host, times, calibration.Count, progress),
            Report(decode, host, times, calibration.Count + prefill.Graphs.Count, progress));
    }

    /// <summary>The ops of a phase and one micro graph per distinct signature (kind and shapes).</summary>
    private sealed record PhaseGraphs(Phase Phase, IReadOnlyList<Op> Ops, IReadOnlyList<int> GraphOfOp, IReadOnlyList<MicroGraph> Graphs);

    private static PhaseGraphs Distinct(ArchitectureSpec arch, Phase phase, int promptTokens, int contextTokens)
    {
        var (tokens, keys) = DecoderOps.Workload(phase, promptTokens, contextTokens);
        var ops = DecoderOps.For(arch, tokens, keys, activationBytes: 4);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var graphs = new List<MicroGraph>();
        var graphOfOp = new List<int>();
        foreach (var op in ops)
        {
            var signature = $"{op.Kind}:{op.WeightRows}x{op.WeightColumns}:{op.Flops}:{op.ActivationBytes}";
            if (!index.TryGetValue(signature, out var i))
            {
                i = index[signature] = graphs.Count;
                graphs.Add(MicroGraphs.For(op, arch, tokens, keys));
            }
            graphOfOp.Add(i);
        }
        return new PhaseGraphs(phase, ops, graphOfOp, graphs);
    }

    private static ComparisonReport Report(PhaseGraphs phase, DeviceProfileSpec host, IReadOnlyList<double> times, int offset, Action<string>? progress)
    {
        var result = new List<OpComparison>();
        for (int i = 0; i < phase.Ops.Count; i++)
        {
            var op = phase.Ops[i];
            var measured = times[offset + phase.GraphOfOp[i]];
            var predicted = CostModel.Cost(op, WeightFormat.Fp32, host, groupSize: 16).LatencyMs;
            result.Add(new OpComparison(op.Name, op.Kind, predicted, measured));
        }
        progress?.Invoke($"measured {phase.Graphs.Count} distinct ops ({phase.Phase})");
        return new ComparisonReport(phase.Phase, result);
    }
}
