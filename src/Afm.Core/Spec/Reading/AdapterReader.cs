using System.Globalization;

namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads the &lt;Adapter&gt; items (specs/adapters.md): accuracy-recovery items expand to one adapter per rank of
/// their Ranks, feature items are one adapter each, and InitFrom is resolved to the recovery adapter of the same rank.
/// </summary>
internal static class AdapterReader
{
    public const double DefaultLearningRate = 1e-3;
    public const int DefaultBatchSize = 8;
    public const double DefaultFinalLearningRateRatio = 0.1;
    /// <summary>Objective="mix" without Distillation: the KL and the next-token loss weigh the same.</summary>
    public const double DefaultMixDistillation = 0.5;
    /// <summary>
    /// Init of a recovery adapter without Init in a project with a QuantizationPlan (see ReadInit): the error start. On the
    /// recovery bench's real-text model (rank 16 distill, 300k tokens, same seed, data order and control) it recovers 68.1%
    /// net of control at 3.7 bpw against 51.9% from zero, more than zero's 66.8% with 4x the tokens, and 69.7% at 2.5 bpw.
    /// </summary>
    public const AdapterInit DefaultInit = AdapterInit.Error;

    private static readonly string[] Common =
        ["Kind", "Tokens", "BatchSize", "LearningRate", "Warmup", "FinalLearningRateRatio", "Alpha", "Version", PrecisionReader.Metadata];
    private static readonly string[] RecoveryOnly = ["Ranks", "TrainingStage", "Objective", "Distillation", "Control", "Init"];
    private static readonly string[] FeatureOnly = ["Rank", "InitFrom", "SequenceLength", .. SftDataReader.Metadata];

    /// <param name="quantized">The project has a QuantizationPlan: a recovery adapter without Objective then distills (see ReadObjective).</param>
    public static List<AdapterSpec> Read(SpecContext context, ProjectProperties properties, IReadOnlyList<TrainingStageSpec?> stages, bool quantized)
    {
        var items = context.Items("Adapter");
        var recovery = new List<AdapterSpec>();
        var features = new List<(AdapterSpec Spec, ItemView Item)>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in items)
        {
            var kind = ReadKind(context, item);
            if (kind is null) continue;
            item.WarnAboutUnknownMetadata([.. Common, .. kind == AdapterKind.AccuracyRecovery ? RecoveryOnly : FeatureOnly]);
            foreach (var name in kind == AdapterKind.AccuracyRecovery ? FeatureOnly : RecoveryOnly)
                if (item.Get(name) is { } misplaced && !(name == "Rank" && kind == AdapterKind.AccuracyRecovery))
                    context.Error(DiagnosticCodes.AdapterMetadataNotForKind, misplaced.Location,
                        $"{misplaced.What} applies only to Kind=\"{(kind == AdapterKind.AccuracyRecovery ? "feature" : "accuracy-recovery")}\" adapters. Remove {name}" +
                        (name == "Ranks" ? ", or write Rank=\"16\" for a feature adapter." : "."));
            if (!CheckName(context, item, seen)) continue;
            if (kind == AdapterKind.AccuracyRecovery) recovery.AddRange(ReadRecovery(context, item, properties, stages, quantized));
            else if (ReadFeature(context, item, properties, stages) is { } feature) features.Add((feature, item));
        }
        foreach (var spec in recovery)
            if (!seen.Add(spec.Name))
                context.Error(DiagnosticCodes.DuplicateAdapterName, spec.Location!,
                    $"Adapter name '{spec.Name}' (a rank of a recovery adapter) is also the name of another Adapter. Rename one of them.");
        return [.. recovery, .. features.Select(f => ResolveInitFrom(context, f.Item, f.Spec, recovery))];
    }

    private static AdapterKind? ReadKind(SpecContext context, ItemView item) =>
        context.Choice(item, "Kind", AdapterKind.Feature, DiagnosticCodes.UnknownAdapterKind,
            ("accuracy-recovery", AdapterKind.AccuracyRecovery), ("feature", AdapterKind.Feature));

    private static bool CheckName(SpecContext context, ItemView item, HashSet<string> seen)
    {
        if (!PropertyReader.SafeName().IsMatch(item.Include))
        {
            context.Error(DiagnosticCodes.InvalidName, item.IncludeLocation,
                $"Adapter name '{item.Include}' may contain only letters, digits, '.', '-' and '_', starting with a letter or digit (it names a folder).");
            return false;
        }
        if (seen.Add(item.Include)) return true;
        context.Error(DiagnosticCodes.DuplicateAdapterName, item.IncludeLocation,
            $"Adapter '{item.Include}' is declared more than once; give each adapter its own name.");
        return false;
    }

    private static IEnumerable<AdapterSpec> ReadRecovery(SpecContext context, ItemView item, ProjectProperties properties, IReadOnlyList<TrainingStageSpec?> stages,
        bool quantized)
    {
        var ranks = ReadRanks(context, item, properties);
        var stage = ReadTrainingStage(context, item, stages);
        var (objective, distillation) = ReadObjective(context, item, quantized);
        var control = item.Get("Control") is { } c ? context.Bool(c) : false;
        var init = ReadInit(context, item, quantized);
        var precision = PrecisionReader.Read(context, item, properties.Determinism);
        if (ranks is null || stage is null || objective is null || distillation is null || control is null || init is null || precision is null) yield break;
        foreach (int rank in ranks)
            if (ReadSettings(context, item, properties, rank, stage.SequenceLength) is { } spec)
                yield return spec with
                {
                    Name = $"{item.Include}-r{rank.ToString(CultureInfo.InvariantCulture)}", Kind = AdapterKind.AccuracyRecovery,
                    TrainingStage = stage.Name, Objective = objective.Value, Distillation = distillation.Value, Control = control.Value,
                    Init = init.Value, Precision = precision.Value,
                };
    }

    /// <summary>
    /// A project without a QuantizationPlan trains recovery adapters on the float model itself: the KL to the float model is
    /// then 0 whatever the adapter does (nothing to distill), and a control on the float model would be the adapter again.
    /// </summary>
    public static void CheckFloatBase(SpecContext context, IReadOnlyList<AdapterSpec> adapters)
    {
        foreach (var group in adapters.Where(a => a.Kind == AdapterKind.AccuracyRecovery).GroupBy(a => a.Item))
        {
            var a = group.First();
            if (a.Objective != AdapterObjective.NextToken)
                context.Error(DiagnosticCodes.DistillWithoutQuantizationPlan, a.Location!,
                    $"Adapter '{a.Item}' distills from the float model (Objective=\"{a.ObjectiveName}\"), but without a QuantizationPlan it trains on the float model itself, " +
                    "so there is nothing to distill. Add a <QuantizationPlan>, or use Objective=\"next-token\".");
            if (a.Control)
                context.Warning(DiagnosticCodes.ControlWithoutQuantizationPlan, a.Location!,
                    $"Adapter '{a.Item}' asks for a float control (Control=\"true\"), but without a QuantizationPlan the adapter already trains on the float model: no control is trained. Add a <QuantizationPlan>, or remove Control.");
        }
    }

    /// <summary>
    /// How the adapter starts. Without Init a quantized project starts from the quantization error's best rank-r pair
    /// (<see cref="DefaultInit"/>); without a plan there is no error (the base is the float model), so Init="error" is
    /// AFM6012 and the default is zero.
    /// </summary>
    private static AdapterInit? ReadInit(SpecContext context, ItemView item, bool quantized)
    {
        if (item.Get("Init") is not { } value) return quantized ? DefaultInit : AdapterInit.Zero;
        var init = context.Choice(value, DiagnosticCodes.UnknownAdapterInit, ("zero", AdapterInit.Zero), ("error", AdapterInit.Error));
        if (init == AdapterInit.Error && !quantized)
        {
            context.Error(DiagnosticCodes.ErrorInitWithoutQuantizationPlan, value.Location,
                $"{value.What} is 'error', but without a QuantizationPlan the adapter trains on the float model, which has no quantization error to start from. " +
                "Add a <QuantizationPlan>, or remove Init (the adapter then starts from zero).");
            return null;
        }
        return init;
    }

    /// <summary>
    /// Objective and the KL weight it implies. Distillation is the weight of mix only; without Objective it still means mix
    /// (how projects wrote a mix before Objective existed), so Distillation="0" stays next-token and "1" distill.
    /// Without either, a quantized project distills: on the recovery bench's real-text model distill recovered the most
    /// net of the float control at every rank, plan and token count, and its control gains nothing, so all it wins is
    /// recovery (bench/Afm.Bench.Recovery/README.md). Without a plan there is nothing to distill (AFM6011): next-token.
    /// </summary>
    private static (AdapterObjective? Objective, double? Distillation) ReadObjective(SpecContext context, ItemView item, bool quantized)
    {
        var weight = item.Get("Distillation");
        double? w = weight is { } d ? context.Double(d, (v => v >= 0 && v <= 1, "between 0 and 1")) : null;
        if (item.Get("Objective") is not { } value)
        {
            if (weight is null) return quantized ? (AdapterObjective.Distill, 1) : (AdapterObjective.NextToken, 0);
            return w switch { null => (null, null), 0.0 => (AdapterObjective.NextToken, 0), 1.0 => (AdapterObjective.Distill, 1), _ => (AdapterObjective.Mix, w) };
        }
        var objective = context.Choice(value, DiagnosticCodes.UnknownAdapterObjective,
            ("next-token", AdapterObjective.NextToken), ("distill", AdapterObjective.Distill), ("mix", AdapterObjective.Mix));
        if (objective is null) return (null, null);
        if (objective != AdapterObjective.Mix && weight is { } misplaced)
        {
            context.Error(DiagnosticCodes.DistillationWithoutMix, misplaced.Location,
                $"{misplaced.What} weighs the KL term of Objective=\"mix\", but {value.What} is '{value.Text}', " +
                $"{(objective == AdapterObjective.Distill ? "which is all KL (weight 1)" : "which has no KL term")}. Remove Distillation, or write Objective=\"mix\".");
            return (null, null);
        }
        return objective switch
        {
            AdapterObjective.NextToken => (objective, 0),
            AdapterObjective.Distill => (objective, 1),
            _ => w is null && weight is not null ? (null, null) : (objective, w ?? DefaultMixDistillation),
        };
    }

    private static AdapterSpec? ReadFeature(SpecContext context, ItemView item, ProjectProperties properties, IReadOnlyList<TrainingStageSpec?> stages)
    {
        int? rank = item.Required("Rank", "16") is { } r ? CheckRank(context, r, context.Int(r, SpecContext.Positive), properties) : null;
        var firstLength = stages.FirstOrDefault()?.SequenceLength;
        var length = item.Get("SequenceLength") is { } s ? context.Int(s, SpecContext.Positive) : firstLength;
        var sft = ReadData(context, item);
        var precision = PrecisionReader.Read(context, item, properties.Determinism);
        if (rank is null || length is null || sft.Files is null || precision is null) return null;
        if (properties.MaxSequenceLength is int max && length > max)
            context.Error(DiagnosticCodes.SequenceLengthExceedsMax, item.Get("SequenceLength")!.Value.Location,
                $"SequenceLength of {item.Describe} is {length}, but MaxSequenceLength is {max}. Lower SequenceLength or raise MaxSequenceLength.");
        return ReadSettings(context, item, properties, rank.Value, length.Value) is { } spec
            ? spec with { Data = sft.Files, PromptField = sft.PromptField, ResponseField = sft.ResponseField, InitFrom = item.Get("InitFrom")?.Text, Precision = precision.Value }
            : null;
    }

    /// <summary>InitFrom names an accuracy-recovery item; the feature adapter starts from its adapter of the same rank.</summary>
    private static AdapterSpec ResolveInitFrom(SpecContext context, ItemView item, AdapterSpec feature, IReadOnlyList<AdapterSpec> recovery)
    {
        if (feature.InitFrom is not { } source) return feature;
        var value = item.Get("InitFrom")!.Value;
        var group = recovery.Where(r => string.Equals(r.Item, source, StringComparison.OrdinalIgnoreCase)).ToList();
        if (group.Count == 0)
        {
            var names = recovery.Select(r => r.Item).Distinct().ToList();
            context.Error(DiagnosticCodes.InitFromUnknown, value.Location,
                $"{value.What} is '{source}', which names no Kind=\"accuracy-recovery\" Adapter" +
                (names.Count > 0 ? $" (declared: {string.Join(", ", names)})." : "; declare one, e.g. <Adapter Include=\"recovery\" Kind=\"accuracy-recovery\" Ranks=\"16\" Tokens=\"200k\" />, or remove InitFrom."));
            return feature;
        }
        if (group.FirstOrDefault(r => r.Rank == feature.Rank) is { } match) return feature with { InitFrom = match.Name };
        context.Error(DiagnosticCodes.InitFromUnknown, value.Location,
            $"{value.What} is '{source}', whose ranks are {string.Join(";", group.Select(g => g.Rank))}, but the adapter has Rank {feature.Rank}: " +
            $"it starts from the recovery adapter of its own rank. Add {feature.Rank} to the Ranks of '{source}' or change Rank.");
        return feature;
    }

    private static AdapterSpec? ReadSettings(SpecContext context, ItemView item, ProjectProperties properties, int rank, int length)
    {
        var tokens = item.Required("Tokens", "200k") is { } t ? context.TokenCount(t) : null;
        var batch = item.Get("BatchSize") is { } b ? context.Int(b, SpecContext.Positive) : DefaultBatchSize;
        var lr = item.Get("LearningRate") is { } l ? context.Double(l, SpecContext.Positive) : DefaultLearningRate;
        var finalRatio = item.Get("FinalLearningRateRatio") is { } f ? context.Double(f, (v => v >= 0 && v <= 1, "between 0 and 1")) : DefaultFinalLearningRateRatio;
        var alpha = item.Get("Alpha") is { } a ? context.Double(a, SpecContext.Positive) : 2.0 * rank;
        var warmup = item.Get("Warmup") is { } w ? context.Int(w, SpecContext.NonNegative) : null;
        var version = item.Get("Version") is { } v ? ReadVersion(context, v) : properties.Version;
        if (tokens is null || batch is null || lr is null || finalRatio is null || alpha is null || version is null
            || (item.Has("Warmup") && warmup is null)) return null;
        long steps = Math.Max(1, tokens.Value / ((long)length * batch.Value));
        return new AdapterSpec
        {
            Name = item.Include, Item = item.Include, Kind = AdapterKind.Feature, Rank = rank, Alpha = alpha.Value, Version = version,
            Tokens = tokens.Value, SequenceLength = length, BatchSize = batch.Value, LearningRate = lr.Value,
            WarmupSteps = warmup ?? (int)Math.Min(100, steps / 10), FinalLearningRateRatio = finalRatio.Value, Location = item.Location,
        };
    }

    private static List<int>? ReadRanks(SpecContext context, ItemView item, ProjectProperties properties)
    {
        if ((item.Get("Ranks") ?? item.Get("Rank")) is not { } value)
        {
            context.Error(DiagnosticCodes.InvalidRanks, item.Location,
                $"{item.Describe} has no Ranks. Add Ranks=\"8;16;32\" (one recovery adapter per rank).");
            return null;
        }
        var ranks = new List<int>();
        foreach (var part in value.Text.Split(';', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int rank) || rank < 1 || ranks.Contains(rank))
            {
                context.Error(DiagnosticCodes.InvalidRanks, value.Location,
                    $"{value.What} is '{value.Text}'; write distinct positive whole numbers separated by ';', such as Ranks=\"8;16;32\".");
                return null;
            }
            if (CheckRank(context, value, rank, properties) is null) return null;
            ranks.Add(rank);
        }
        return ranks;
    }

    private static int? CheckRank(SpecContext context, RawValue value, int? rank, ProjectProperties properties)
    {
        if (rank is int r && properties.ModelDim is int dim && r > dim)
        {
            context.Error(DiagnosticCodes.InvalidRanks, value.Location,
                $"{value.What} asks for rank {r}, above ModelDim {dim}: a LoRA update of rank above the smallest side of a projection adds nothing. Use a rank up to {dim}.");
            return null;
        }
        return rank;
    }

    private static TrainingStageSpec? ReadTrainingStage(SpecContext context, ItemView item, IReadOnlyList<TrainingStageSpec?> stages)
    {
        var pretrain = stages.Where(s => s is { Kind: StageKind.Pretrain }).ToList();
        if (item.Get("TrainingStage") is not { } value) return pretrain.LastOrDefault();
        var stage = pretrain.FirstOrDefault(s => string.Equals(s!.Name, value.Text, StringComparison.OrdinalIgnoreCase));
        if (stage is null && !stages.Any(s => s is null))
            context.Error(DiagnosticCodes.AdapterStageUnknown, value.Location,
                $"{value.What} is '{value.Text}', which names no pretrain TrainingStage; a recovery adapter trains on a pretrain stage's packed data. " +
                $"Write one of: {string.Join(", ", pretrain.Select(s => s!.Name))}.");
        return stage;
    }

    /// <summary>The prompt/response files of a feature adapter (as an sft stage's Data); Files is null after an error.</summary>
    private static (IReadOnlyList<string>? Files, string PromptField, string ResponseField) ReadData(SpecContext context, ItemView item)
    {
        var prompt = item.Get("PromptField")?.Text ?? SftDataReader.DefaultPromptField;
        var response = item.Get("ResponseField")?.Text ?? SftDataReader.DefaultResponseField;
        if (item.Get("Data") is not { } data)
        {
            context.Error(DiagnosticCodes.FeatureAdapterWithoutData, item.Location,
                $"{item.Describe} is a feature adapter without Data. Add Data=\"data/summaries/*.jsonl\" (JSON lines with \"{prompt}\" and \"{response}\" fields).");
            return (null, prompt, response);
        }
        return (DataPatterns.Read(context, item, data, DiagnosticCodes.AdapterDataMatchedNoFiles), prompt, response);
    }

    private static string? ReadVersion(SpecContext context, RawValue value)
    {
        if (PropertyReader.SemVer().IsMatch(value.Text)) return value.Text;
        context.Error(DiagnosticCodes.InvalidVersion, value.Location,
            $"{value.What} is '{value.Text}', which is not a semantic version. Write MAJOR.MINOR.PATCH, such as 1.0.0 or 0.2.0-preview.1.");
        return null;
    }
}
