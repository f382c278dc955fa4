namespace Afm.Core.Spec.Reading;

/// <summary>
/// AFM's on-device flow: a BaseModel project without a TrainingStage compresses and adapts the base as it is. The quantize
/// stage calibrates, and recovery adapters train, on packed data that the data stage otherwise packs for a training
/// stage; here it packs the <see cref="ModelSpec.CalibrationDataName"/> data instead, from every corpus by size (as a
/// stage without Mix), which nothing trains on.
/// </summary>
internal static class CalibrationDataReader
{
    /// <summary>Tokens per packed sequence, shortened to MaxSequenceLength (the base's context unless the project shortens it).</summary>
    public const int DefaultSequenceLength = 256;

    /// <summary>The data without its token count (the adapters, read next, decide it), or null when nothing needs it.</summary>
    public static TrainingStageSpec? Shape(bool hasBase, int stageCount, QuantizationPlanSpec? quantization, SpecContext context,
        ProjectProperties properties, IReadOnlyList<FileSet> corpora)
    {
        if (!hasBase || stageCount > 0 || (quantization is null && context.Items("Adapter").Count == 0)) return null;
        int length = Math.Min(DefaultSequenceLength, properties.MaxSequenceLength ?? DefaultSequenceLength);
        return new TrainingStageSpec
        {
            Name = ModelSpec.CalibrationDataName, Kind = StageKind.Pretrain, Tokens = length, SequenceLength = length,
            BatchSize = StageReader.DefaultBatchSize, RopeBase = properties.RopeBase ?? PropertyReader.DefaultRopeBase,
            Mix = MixReader.Default(corpora),
            // Never trained: the optimizer settings are the stage defaults, recorded only because a stage has them.
            LearningRate = StageReader.DefaultFirstLearningRate, WarmupSteps = 0, FinalLearningRateRatio = StageReader.DefaultFinalLearningRateRatio,
            Schedule = LearningRateSchedule.Cosine, WeightDecay = StageReader.DefaultWeightDecay, GradientClip = StageReader.DefaultGradientClip,
            EvalEvery = 1,
            // Problems of the data (too little to hold out) are located at what asked for it.
            Location = quantization?.Location ?? context.Items("Adapter")[0].Location,
        };
    }

    /// <summary>
    /// Enough tokens for the plan's calibration sequences and for the longest recovery adapter (which otherwise cycles
    /// through the same sequences).
    /// </summary>
    public static TrainingStageSpec Sized(TrainingStageSpec shape, QuantizationPlanSpec? quantization, IReadOnlyList<AdapterSpec> adapters)
    {
        long tokens = Math.Max(shape.SequenceLength, (long)(quantization?.CalibrationSequences ?? 0) * shape.SequenceLength);
        foreach (var adapter in adapters.Where(a => a.Kind == AdapterKind.AccuracyRecovery)) tokens = Math.Max(tokens, adapter.Tokens);
        return shape with { Tokens = tokens };
    }
}
