namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads the &lt;TrainingStage&gt; items, in project order: each stage resumes from the previous one, so
/// RoPE base and learning rate carry over unless a stage sets its own.
/// </summary>
internal static class StageReader
{
    public const int DefaultBatchSize = 8;
    public const double DefaultFirstLearningRate = 3e-4;
    public const double DefaultFinalLearningRateRatio = 0.1;
    public const double DefaultWeightDecay = 0.1;
    public const double DefaultGradientClip = 1.0;
    /// <summary>
    /// The AFM optimizer decays by WeightDecay * (lr / peak lr) per step, independent of the peak LR (report 3.2.4),
    /// so its default is the report's 3.16e-4 rather than AdamW's lr-scaled 0.1.
    /// </summary>
    public const double DefaultAfmWeightDecay = 3.16e-4;

    private static readonly string[] Known =
    [
        "Kind", "Tokens", "SequenceLength", "BatchSize", "LearningRate", "Warmup", "FinalLearningRateRatio",
        "Schedule", "WeightDecay", "GradientClip", "RopeBase", "Mix", PretrainingMixReader.Metadata, "EvalEvery", "CheckpointEvery", "Optimizer",
        PrecisionReader.Metadata, .. SftDataReader.Metadata, .. PreferenceStageReader.Metadata,
    ];

    /// <summary>Each stage with its spec, or null where the stage had an error.</summary>
    /// <param name="stagesOptional">A project with a BaseModel may have none: the base is then compressed, adapted and packaged as it is.</param>
    /// <param name="determinism">The project's AfmDeterminism (null when it had an error): bf16-mixed is not portable.</param>
    public static List<(ItemView Item, TrainingStageSpec? Spec)> Read(SpecContext context, double? projectRopeBase, IReadOnlyList<FileSet> corpora, FileSetGaps corpusGaps,
        bool stagesOptional = false, DeterminismMode? determinism = null)
    {
        var items = context.Items("TrainingStage");
        if (items.Count == 0 && !stagesOptional)
            context.Error(DiagnosticCodes.StageMissing, context.Locator.Project,
                "The project has no training stage. Add <TrainingStage Include=\"core\" Tokens=\"4M\" SequenceLength=\"256\" /> to an <ItemGroup>.");

        var stages = new List<(ItemView, TrainingStageSpec?)>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        double? ropeBase = projectRopeBase;
        double? learningRate = DefaultFirstLearningRate;
        foreach (var item in items)
        {
            item.WarnAboutUnknownMetadata(Known);
            var nameIsValid = CheckName(context, item, seen);
            var spec = ReadStage(context, item, ropeBase, learningRate, corpora, corpusGaps, determinism);
            // A broken stage still passes on what it can, so the next stage is checked on its own merits.
            ropeBase = spec?.RopeBase ?? (item.Get("RopeBase") is null ? ropeBase : null);
            learningRate = spec?.LearningRate ?? (item.Get("LearningRate") is null ? learningRate : null);
            stages.Add((item, nameIsValid ? spec : null));
        }
        PreferenceStageReader.CheckOrder(context, stages, hasBaseModel: stagesOptional);
        return stages;
    }

    private static bool CheckName(SpecContext context, ItemView item, HashSet<string> seen)
    {
        if (!PropertyReader.SafeName().IsMatch(item.Include))
        {
            // The name becomes a checkpoint directory.
            context.Error(DiagnosticCodes.InvalidName, item.IncludeLocation,
                $"Training stage name '{item.Include}' may contain only letters, digits, '.', '-' and '_', starting with a letter or digit.");
            return false;
        }
        if (seen.Add(item.Include)) return true;
        context.Error(DiagnosticCodes.DuplicateStageName, item.IncludeLocation,
            $"Training stage '{item.Include}' is declared more than once; stage names identify checkpoints, so give each stage its own name.");
        return false;
    }

    private static TrainingStageSpec? ReadStage(SpecContext context, ItemView item, double? ropeBaseDefault, double? learningRateDefault, IReadOnlyList<FileSet> corpora, FileSetGaps corpusGaps,
        DeterminismMode? determinism)
    {
        var kind = ReadKind(context, item);
        var tokens = item.Required("Tokens", "4M") is { } t ? context.TokenCount(t) : null;
        var sequenceLength = item.Required("SequenceLength", "256") is { } s ? context.Int(s, SpecContext.Positive) : null;
        var batchSize = item.Get("BatchSize") is { } b ? context.Int(b, SpecContext.Positive) : DefaultBatchSize;
        var learningRate = item.Get("LearningRate") is { } lr ? context.Double(lr, SpecContext.Positive) : learningRateDefault;
        var finalRatio = item.Get("FinalLearningRateRatio") is { } f
            ? context.Double(f, (v => v >= 0 && v <= 1, "between 0 and 1")) : DefaultFinalLearningRateRatio;
        var schedule = context.Choice(item, "Schedule", LearningRateSchedule.Cosine, DiagnosticCodes.UnknownSchedule,
            ("cosine", LearningRateSchedule.Cosine), ("linear", LearningRateSchedule.Linear), ("constant", LearningRateSchedule.Constant));
        var optimizer = context.Choice(item, "Optimizer", StageOptimizer.AdamW, DiagnosticCodes.UnknownOptimizer,
            ("adamw", StageOptimizer.AdamW), ("afm", StageOptimizer.Afm));
        var weightDecay = item.Get("WeightDecay") is { } wd ? context.Double(wd, SpecContext.NonNegative)
            : optimizer == StageOptimizer.Afm ? DefaultAfmWeightDecay : DefaultWeightDecay;
        var checkpointEvery = item.Get("CheckpointEvery") is { } ce ? context.Int(ce, SpecContext.NonNegative) : null;
        var gradientClip = item.Get("GradientClip") is { } gc ? context.Double(gc, SpecContext.Positive) : DefaultGradientClip;
        var ropeBase = item.Get("RopeBase") is { } rb ? context.Double(rb, SpecContext.Positive) : ropeBaseDefault;
        var sft = SftDataReader.Read(context, item, kind);
        var preference = PreferenceStageReader.Read(context, item, kind, out var preferenceValid);
        // Post-training stages train on their Data only (a Mix written there was reported by SftDataReader); an sft stage
        // samples its Mix only for its MixShare.
        var (mix, mixShare) = kind == StageKind.Sft ? PretrainingMixReader.Read(context, item, batchSize, corpora, corpusGaps)
            : kind is not (null or StageKind.Pretrain) ? (Array.Empty<MixEntry>(), null)
            : (item.Get("Mix") is { } m ? MixReader.Read(context, m, corpora, corpusGaps) : MixReader.Default(corpora), null);
        if (kind is not (null or StageKind.Sft) && item.Get(PretrainingMixReader.Metadata) is { } misplacedShare)
            context.Error(DiagnosticCodes.MetadataNotForStageKind, misplacedShare.Location,
                $"{misplacedShare.What} applies only to Kind=\"sft\" stages (the share of each batch drawn from the pretraining Mix); a pretrain stage samples its Mix for the whole batch, post-training stages train on their pairs. Remove MixShare.");
        var warmupValue = item.Get("Warmup");
        var warmup = warmupValue is { } w ? context.Int(w, SpecContext.NonNegative) : null;
        var evalEvery = item.Get("EvalEvery") is { } e ? context.Int(e, SpecContext.Positive) : null;
        var precision = PrecisionReader.Read(context, item, determinism);
        // Post-training stages train in float32 only (their trainers have no bf16 path): another Precision would be ignored.
        if (kind is not (null or StageKind.Pretrain or StageKind.Sft) && precision is not TrainingPrecision.Fp32 && item.Get(PrecisionReader.Metadata) is { } declared)
        {
            context.Error(DiagnosticCodes.MetadataNotForStageKind, declared.Location,
                $"{declared.What} applies only to pretrain and sft stages and adapters; post-training stages (reward, dpo, rejection-sampling, rl) train in float32 (specs/post-training.md). Remove Precision.");
            precision = null;
        }

        if (tokens is not long tokenCount || sequenceLength is not int length || batchSize is not int batch) return null;
        var steps = Math.Max(1, tokenCount / ((long)length * batch));
        // A short warm-up (10% of the steps, at most 100) keeps early updates small without wasting a small run.
        var warmupSteps = warmupValue is null ? (int)Math.Min(100, steps / 10) : warmup;
        if (warmupValue is { } wv && warmup is int ws && ws >= steps)
            context.Warning(DiagnosticCodes.WarmupNotShorterThanStage, wv.Location,
                $"{wv.What} is {ws} steps, but the stage has only {steps} steps ({tokenCount} tokens / ({length} x {batch})), so the learning rate never reaches its peak. Lower Warmup or raise Tokens.");
        var evalEverySteps = item.Get("EvalEvery") is null ? (int)Math.Max(1, steps / 10) : evalEvery;
        // About ten resumable checkpoints per stage: a kill loses at most ~10% of the stage's work.
        var checkpointEverySteps = item.Get("CheckpointEvery") is null ? (int)Math.Max(1, steps / 10) : checkpointEvery;

        if (kind is null || learningRate is null || finalRatio is null || schedule is null || weightDecay is null
            || gradientClip is null || ropeBase is null || mix is null || warmupSteps is null || evalEverySteps is null
            || optimizer is null || checkpointEverySteps is null || sft.Files is null || !preferenceValid || precision is null) return null;
        return new TrainingStageSpec
        {
            Name = item.Include,
            Kind = kind.Value,
            Tokens = tokenCount,
            SequenceLength = length,
            BatchSize = batch,
            LearningRate = learningRate.Value,
            WarmupSteps = warmupSteps.Value,
            FinalLearningRateRatio = finalRatio.Value,
            Schedule = schedule.Value,
            WeightDecay = weightDecay.Value,
            GradientClip = gradientClip.Value,
            RopeBase = ropeBase.Value,
            Mix = mix,
            MixShare = mixShare,
            EvalEvery = evalEverySteps.Value,
            CheckpointEvery = checkpointEverySteps.Value,
            Optimizer = optimizer.Value,
            Data = sft.Files,
            PromptField = sft.PromptField,
            ResponseField = sft.ResponseField,
            Preference = preference,
            Precision = precision.Value,
            Location = item.Location,
        };
    }

    private static StageKind? ReadKind(SpecContext context, ItemView item)
    {
        if (item.Get("Kind") is not { } value) return StageKind.Pretrain;
        if (string.Equals(value.Text, "pretrain", StringComparison.OrdinalIgnoreCase)) return StageKind.Pretrain;
        if (string.Equals(value.Text, "sft", StringComparison.OrdinalIgnoreCase)) return StageKind.Sft;
        if (string.Equals(value.Text, "reward", StringComparison.OrdinalIgnoreCase)) return StageKind.Reward;
        if (string.Equals(value.Text, "dpo", StringComparison.OrdinalIgnoreCase)) return StageKind.Dpo;
        if (string.Equals(value.Text, "rejection-sampling", StringComparison.OrdinalIgnoreCase)) return StageKind.RejectionSampling;
        if (string.Equals(value.Text, "rl", StringComparison.OrdinalIgnoreCase)) return StageKind.Rl;
        if (PreferenceStageReader.KindsNotBuilt.Contains(value.Text, StringComparer.OrdinalIgnoreCase))
            context.Error(DiagnosticCodes.StageKindNotBuilt, value.Location,
                $"{value.What} is '{value.Text}', a post-training stage kind of the AFM report that this toolchain does not have yet (issue #20); " +
                "no stage of that kind can be built. Use Kind=\"reward\", \"dpo\", \"rejection-sampling\" or \"rl\" stages, or remove the stage.");
        else
            context.Error(DiagnosticCodes.UnknownStageKind, value.Location,
                $"{value.What} is '{value.Text}', which is not a stage kind this toolchain supports. Write Kind=\"pretrain\" (or remove Kind), \"sft\", \"reward\", \"dpo\", \"rejection-sampling\" or \"rl\".");
        return null;
    }

    /// <summary>No stage may train on sequences longer than the model's declared context.</summary>
    public static void CheckSequenceLengths(SpecContext context, List<(ItemView Item, TrainingStageSpec? Spec)> stages, ProjectProperties properties)
    {
        if (properties.MaxSequenceLength is not int max) return;
        foreach (var (item, _) in stages)
            // Checked even on a stage with other errors; an unparsable length was reported already.
            if (item.Get("SequenceLength") is { } value && int.TryParse(value.Text, System.Globalization.NumberStyles.None,
                    System.Globalization.CultureInfo.InvariantCulture, out var length) && length > max)
                context.Error(DiagnosticCodes.SequenceLengthExceedsMax, value.Location,
                    $"SequenceLength of {item.Describe} is {length}, but MaxSequenceLength is {max}. Lower SequenceLength or raise MaxSequenceLength (or remove it: it defaults to the longest stage).");
    }
}
