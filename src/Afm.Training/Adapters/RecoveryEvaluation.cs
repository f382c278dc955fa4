using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Precision;
using Afm.Training.Stages;

namespace Afm.Training.Adapters;

/// <summary>What <see cref="RecoveryEvaluation.Measure"/> found for one recovery adapter (AdapterResult's recovery fields).</summary>
internal sealed record RecoveryFigures(double? ControlLoss, double BaseDivergence, double AdaptedDivergence, RecoveryMeasurement Measurement,
    IReadOnlyList<LayerDivergence>? Layers);

/// <summary>
/// Measures a trained recovery adapter against the float model on its validation sequences: per-sequence losses of the
/// float model, the quantized base, the base with the adapter and, when the adapter asks for a control (Control="true")
/// on a quantized base, the same adapter trained the same way on the float model; then KL(float ‖ model) of the base
/// with and without the adapter, and the bootstrap <see cref="RecoveryMeasurement"/>. The control has the adapter's
/// name, hence its seed, initial A and batch order, and its objective (distill's teacher is the float model, which the
/// control's base is a separate copy of), and is measured then discarded: it costs one more training of the adapter.
/// With a control, the per-layer KL (<see cref="LayerDivergences"/>) is measured too, on the control's float copy once the
/// control is detached from it: which parts carry the quantization loss and how much of each the adapter's own pairs win back.
/// The control always starts from zero, also for an adapter started from the quantization error (Init="error"): the error
/// start of a base without error is zero (E = W - W), so the control is the same adapter's start on the float model, and an
/// error-started adapter and a zero-started one of the same name share one control.
/// </summary>
internal static class RecoveryEvaluation
{
    public static RecoveryFigures Measure(ModelSpec spec, AdapterSpec a, string data, IPackedSequences train, IPackedSequences validation,
        AdaptersStage.LazyModels models, LoraAdapter adapter, Dictionary<string, SequenceLosses> cache, PrecisionDecision precision,
        Action<string>? progress, CancellationToken cancellationToken)
    {
        SequenceLosses Cached(string key, Func<SequenceLosses> measure) =>
            cache.TryGetValue($"{key}|{data}", out var losses) ? losses : cache[$"{key}|{data}"] = measure();
        var floatLosses = Cached("float", () => SequenceLosses.Measure(models.Float, validation));
        var baseLosses = Cached("base", () => SequenceLosses.Measure(models.Base, validation));
        var indices = Evaluator.Spread(validation, AdapterEvaluator.MaxSequences);
        double baseDivergence = Evaluator.MeanLossAndDivergence(models.Float, models.Base, validation, indices).Divergence;
        adapter.Attach(models.Base);
        SequenceLosses adapted;
        double adaptedDivergence;
        try
        {
            adapted = SequenceLosses.Measure(models.Base, validation);
            adaptedDivergence = Evaluator.MeanLossAndDivergence(models.Float, models.Base, validation, indices).Divergence;
        }
        finally
        {
            adapter.Detach();
        }
        SequenceLosses? control = a.Control && models.Quantized ? TrainControl(spec, a, train, validation, models, precision, progress, cancellationToken) : null;
        var measurement = RecoveryMeasurement.Compute(floatLosses, baseLosses, adapted, control,
            (ulong)AdaptersStage.AdapterSeed(spec.Seed, a.Name + "/bootstrap"));
        if (control is not null) progress?.Invoke($"adapters {a.Name}: per-layer KL to the float model, each part quantized alone, with and without its adapter pairs");
        var layers = control is null ? null
            : LayerDivergences.Measure(models.Float, models.Base, models.ControlBase, adapter, validation, models.QuantizedPartDivergences(data));
        return new RecoveryFigures(control is null ? null : AdapterTrainer.Round(control.Mean), AdapterTrainer.Round(baseDivergence),
            AdapterTrainer.Round(adaptedDivergence), measurement, layers);
    }

    private static SequenceLosses TrainControl(ModelSpec spec, AdapterSpec a, IPackedSequences train, IPackedSequences validation,
        AdaptersStage.LazyModels models, PrecisionDecision precision, Action<string>? progress, CancellationToken cancellationToken)
    {
        progress?.Invoke($"adapters {a.Name}: training its float control (the same adapter on the float model)");
        var floatBase = models.ControlBase;
        using var control = LoraAdapter.Create(spec.Architecture, a.Rank, a.Alpha, AdaptersStage.AdapterSeed(spec.Seed, a.Name));
        new AdapterTrainer(floatBase, control, a with { Name = $"{a.Name} (float control)" }, progress) { Precision = precision }
            .Train(train, (ulong)AdaptersStage.AdapterSeed(spec.Seed, a.Name + "/data"), a.Distillation > 0 ? models.Float : null, cancellationToken);
        control.Attach(floatBase);
        try
        {
            return SequenceLosses.Measure(floatBase, validation);
        }
        finally
        {
            control.Detach();
        }
    }
}
