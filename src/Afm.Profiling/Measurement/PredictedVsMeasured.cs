using Afm.Core.Spec;
using Afm.Profiling.Formats;
using Afm.Profiling.Model;
using Afm.Profiling.Profile;

namespace Afm.Profiling.Measurement;

public sealed record OpComparison(string Name, OpKind Kind, double PredictedMs, double MeasuredMs)
{
    /// <summary>Block of the op (<c>embed</c>, <c>layers.0</c>, ..., <c>head</c>): per-layer sums.</summary>
    public string Group { get; init; } = "";
    /// <summary>Kernels the cost model charges (the census of the export) and kernels ONNX Runtime ran for the op.</summary>
    public int PredictedKernels { get; init; }
    public int MeasuredKernels { get; init; }
}

public sealed record ComparisonReport(Phase Phase, IReadOnlyList<OpComparison> Ops)
{
    public double PredictedTotalMs => Ops.Sum(o => o.PredictedMs);
    public double MeasuredTotalMs => Ops.Sum(o => o.MeasuredMs);
    /// <summary>(predicted - measured) / measured of the whole model.</summary>
    public double TotalError => (PredictedTotalMs - MeasuredTotalMs) / MeasuredTotalMs;
    public double RankCorrelation => Measurement.RankCorrelation.Spearman(Ops.Select(o => o.PredictedMs).ToList(), Ops.Select(o => o.MeasuredMs).ToList());
    /// <summary>Predicted and measured per block, in model order.</summary>
    public IReadOnlyList<(string Group, double PredictedMs, double MeasuredMs)> ByGroup =>
        Ops.GroupBy(o => o.Group).Select(g => (g.Key, g.Sum(o => o.PredictedMs), g.Sum(o => o.MeasuredMs))).ToList();
    /// <summary>Time of kernels that no op of the cost model claims (whole model only; 0 when every kernel is attributed).</summary>
    public double UnattributedMs { get; init; }
}

/// <summary>A calibration of the host and both phases compared with it, all timed in the same rounds.</summary>
/// <remarks><see cref="Prefill"/>/<see cref="Decode"/> time each op as its own micro graph; <see cref="WholePrefill"/>/
/// <see cref="WholeDecode"/> time the whole exported model and attribute its kernels to the ops.</remarks>
/// A graph of another form than float standard (fused operators, resident weights) has no micro graphs: <see cref="Prefill"/> and
/// <see cref="Decode"/> are null, the whole model is compared.
public sealed record CalibratedComparison(DeviceProfileSpec Host, CalibrationInfo Calibration, ComparisonReport? Prefill, ComparisonReport? Decode)
{
    public ComparisonReport? WholePrefill { get; init; }
    public ComparisonReport? WholeDecode { get; init; }
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
        var workload = Distinct(arch, phase, promptTokens, contextTokens);
        var timed = timer.TimeAll(workload.Graphs);
        return Report(workload, host, timed.Select(t => t.Milliseconds).ToList(), timed.Select(t => t.Kernels).ToList(), 0, progress);
    }

    /// <summary>
    /// Calibrates the host and measures both phases with every graph timed in the same interleaved rounds
    /// (<see cref="OrtOpTimer.TimeAll"/>): the calibration and the ops it predicts see the same load, so the
    /// comparison measures the cost model, not how the machine's load changed between two timings.
    /// </summary>
    /// <param name="model">The exported model.onnx to time as a whole too (prefill and a decode step), or null for micro graphs only.</param>
    /// <param name="form">The form of <paramref name="model"/> (null: float, standard operators); ops are costed in the formats it runs.</param>
    public static CalibratedComparison CalibrateAndCompare(ArchitectureSpec arch, DeviceProfileSpec hostBeforeCalibration, int promptTokens,
        int contextTokens, OrtOpTimer timer, Action<string>? progress = null, byte[]? model = null, GraphForm? form = null)
    {
        form ??= GraphForm.Float;
        bool micro = form == GraphForm.Float;
        var calibration = HostCalibration.Graphs(arch, promptTokens, form);
        var prefill = Distinct(arch, Phase.Prefill, promptTokens, contextTokens, micro, form);
        var decode = Distinct(arch, Phase.Decode, promptTokens, contextTokens, micro, form);
        List<MicroGraph> whole = model is null ? [] :
            [WholeModel.Run(model, arch, Phase.Prefill, promptTokens, contextTokens, form.Ops), WholeModel.Run(model, arch, Phase.Decode, promptTokens, contextTokens, form.Ops)];
        List<MicroGraph> graphs = [.. calibration, .. prefill.Graphs, .. decode.Graphs, .. whole];
        var nodes = timer.TimeNodes(graphs);
        var timed = nodes.Select((g, i) => graphs[i].Timed(g)).Select(g => (g.Sum(n => n.Milliseconds), g.Count)).ToList();
        var (host, info) = HostCalibration.FromTimes(hostBeforeCalibration, timer.Threads, arch, promptTokens, timed.Take(calibration.Count).ToList(), form);
        var times = timed.Select(t => t.Item1).ToList();
        var kernels = timed.Select(t => t.Count).ToList();
        int wholeAt = calibration.Count + prefill.Graphs.Count + decode.Graphs.Count;
        return new CalibratedComparison(host, info,
            micro ? Report(prefill, host, times, kernels, calibration.Count, progress) : null,
            micro ? Report(decode, host, times, kernels, calibration.Count + prefill.Graphs.Count, progress) : null)
        {
            WholePrefill = model is null ? null : WholeReport(prefill.Ops, host, Phase.Prefill, nodes[wholeAt], form),
            WholeDecode = model is null ? null : WholeReport(decode.Ops, host, Phase.Decode, nodes[wholeAt + 1], form),
        };
    }

    /// <summary>Every op predicted, and measured as the kernels of the whole model attributed to it.</summary>
    private static ComparisonReport WholeReport(IReadOnlyList<Op> ops, DeviceProfileSpec host, Phase phase, IReadOnlyList<NodeTime> nodes, GraphForm form)
    {
        var measured = WholeModel.PerOp(nodes);
        var result = ops.Select(op =>
        {
            var (ms, kernels) = measured.GetValueOrDefault(op.Name);
            var format = form.FormatOf(op);
            return new OpComparison(op.Name, op.Kind, CostModel.Cost(op, format, host, groupSize: 16).LatencyMs, ms)
                { Group = op.Group, PredictedKernels = op.KernelsIn(format), MeasuredKernels = kernels };
        }).ToList();
        var claimed = ops.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        return new ComparisonReport(phase, result) { UnattributedMs = measured.Where(m => !claimed.Contains(m.Key)).Sum(m => m.Value.Milliseconds) };
    }

    /// <summary>The ops of a phase and one micro graph per distinct signature (kind and shapes).</summary>
    private sealed record PhaseGraphs(Phase Phase, IReadOnlyList<Op> Ops, IReadOnlyList<int> GraphOfOp, IReadOnlyList<MicroGraph> Graphs);

    private static PhaseGraphs Distinct(ArchitectureSpec arch, Phase phase, int promptTokens, int contextTokens, bool micro = true, GraphForm? form = null)
    {
        var (tokens, keys) = DecoderOpCosts.Workload(phase, promptTokens, contextTokens);
        var ops = DecoderOpCosts.For(arch, tokens, keys, activationBytes: 4, form: form);
        if (!micro) return new PhaseGraphs(phase, ops, [], []);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var graphs = new List<MicroGraph>();
        var graphOfOp = new List<int>();
        foreach (var op in ops)
        {
            // Kernels too: the first layer's attention also computes the heads' shapes, and lm_head shapes the logits.
            var signature = $"{op.Kind}:{op.Name == "lm_head"}:{op.WeightRows}x{op.WeightColumns}:{op.Flops}:{op.ActivationBytes}:{op.Kernels}";
            if (!index.TryGetValue(signature, out var i))
            {
                i = index[signature] = graphs.Count;
                graphs.Add(MicroGraphs.For(op, arch, tokens, keys));
            }
            graphOfOp.Add(i);
        }
        return new PhaseGraphs(phase, ops, graphOfOp, graphs);
    }

    private static ComparisonReport Report(PhaseGraphs phase, DeviceProfileSpec host, IReadOnlyList<double> times, IReadOnlyList<int> kernels, int offset,
        Action<string>? progress)
    {
        var result = new List<OpComparison>();
        for (int i = 0; i < phase.Ops.Count; i++)
        {
            var op = phase.Ops[i];
            var measured = times[offset + phase.GraphOfOp[i]];
            var predicted = CostModel.Cost(op, WeightFormat.Fp32, host, groupSize: 16).LatencyMs;
            result.Add(new OpComparison(op.Name, op.Kind, predicted, measured)
                { Group = op.Group, PredictedKernels = op.Kernels, MeasuredKernels = kernels[offset + phase.GraphOfOp[i]] });
        }
        progress?.Invoke($"measured {phase.Graphs.Count} distinct ops ({phase.Phase})");
        return new ComparisonReport(phase.Phase, result);
    }
}
