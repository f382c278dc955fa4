using System.Globalization;
using Afm.Core.Diagnostics;
using Afm.Core.Spec.Reading;

namespace Afm.Core.Spec.Resources;

/// <summary>
/// Refuses, before any stage runs, values that parse but would eat the machine: each stage's estimated memory and the
/// packed data's disk space (<see cref="ResourceEstimate"/>) against what the machine has, at the attribute that makes the
/// estimate large, with the estimate in the message. Above the machine is an error (a warning with
/// AfmAllowExceedingMachine=true), near it (above <see cref="NearFraction"/>) a warning, and beyond any sane model an error whatever the machine.
/// </summary>
internal static class ResourceCheck
{
    public const string OverrideProperty = "AfmAllowExceedingMachine";
    public const double NearFraction = 0.8;

    // Beyond these no model is trained by this toolchain on any machine: the largest dense models have ~1e12 parameters.
    public const double MaxParameters = 1e12;
    public const double MaxMemoryBytes = 64e12;
    public const double MaxDiskBytes = 1e15;

    // Per value, a few times the largest published models (which have ~130 layers, ModelDim 16384, 256k-token vocabularies,
    // 1M-token contexts): past these a value is a typo or a test of the toolchain, not a model.
    public const long MaxModelDim = 65_536;
    public const long MaxFfnDim = 262_144;
    public const long MaxLayers = 1_024;
    public const long MaxVocabSize = 2_097_152;
    public const long MaxSequenceLength = 1_048_576;
    public const long MaxBatchSize = 65_536;

    private sealed record Need(string What, double Bytes, string Breakdown, RawValue? Blamed, SourceLocation Fallback);

    public static void Run(SpecContext context, ModelShape? model, IReadOnlyList<(ItemView Item, StageShape Shape)> stages,
        long corpusBytes, SourceLocation corpusLocation, MachineCapacity machine)
    {
        if (model is null) return;
        var allow = context.Property(OverrideProperty) is { } a && context.Bool(a) == true;
        var parameters = ResourceEstimate.Parameters(model);
        if (BeyondSaneSizes(context, model, stages, parameters)) return;
        if (parameters > MaxParameters)
        {
            var blamed = BlameModel(context, model);
            context.Error(DiagnosticCodes.ResourcesExceeded, blamed?.Location ?? context.Locator.Project,
                $"{Describe(blamed)}the model would have {Count(parameters)} parameters ({Bytes(ResourceEstimate.BytesPerFloat * parameters)} of weights), "
                + $"more than any model this toolchain builds ({Count(MaxParameters)}). {Fix(blamed)}");
            return; // every other estimate follows from this one
        }

        var memory = new List<Need>();
        foreach (var (item, stage) in stages)
            memory.Add(TrainingNeed(context, model, item, stage, parameters));
        var tokenizer = context.Items("Tokenizer").FirstOrDefault();
        var vocab = tokenizer?.Get("VocabSize");
        var tokenizerBytes = ResourceEstimate.Tokenizer(model.VocabSize, corpusBytes);
        memory.Add(new Need("The tokenizer stage", tokenizerBytes,
            $"VocabSize {model.VocabSize} tokens and {Bytes(corpusBytes)} of corpus text",
            128.0 * model.VocabSize >= 4.0 * corpusBytes ? vocab : null, corpusLocation));
        memory.Add(new Need("The data stage", ResourceEstimate.Data(corpusBytes), $"{Bytes(corpusBytes)} of corpus text held as text and token ids", null, corpusLocation));
        foreach (var need in memory)
            Compare(context, need, "memory", machine.MemoryBytes, MaxMemoryBytes, allow);

        if (machine.FreeDiskBytes is not long free || stages.Count == 0) return;
        var disks = stages.Select(s => (s.Item, Bytes: ResourceEstimate.PackedData(s.Shape, model.VocabSize))).ToList();
        var total = disks.Sum(d => d.Bytes);
        var largest = disks.MaxBy(d => d.Bytes);
        Compare(context, new Need("The data stage", total,
            $"packed sequences of {string.Join(", ", disks.Select(d => $"{d.Item.Include} {Bytes(d.Bytes)}"))}",
            largest.Item.Get("Tokens"), largest.Item.Location), "free disk space in the output folder", free, MaxDiskBytes, allow);
    }

    /// <summary>Each value beyond its Max* limit, reported with what the model would need.</summary>
    private static bool BeyondSaneSizes(SpecContext context, ModelShape m, IReadOnlyList<(ItemView Item, StageShape Shape)> stages, double parameters)
    {
        var tokenizer = context.Items("Tokenizer").FirstOrDefault();
        var checks = new List<(RawValue? Value, long Size, long Max)>
        {
            (context.Property("ModelDim"), m.ModelDim, MaxModelDim),
            // Under layer-wise scaling the widest layer's FFN comes from FfnMultipliers (or its default) times ModelDim.
            (context.Property("FfnDim") ?? (m.LayerShapes is null ? null : context.Property("FfnMultipliers")) ?? context.Property("ModelDim"), m.FfnDim, MaxFfnDim),
            (context.Property("Layers"), m.Layers, MaxLayers),
            (tokenizer?.Get("VocabSize"), m.VocabSize, MaxVocabSize),
            (context.Property("MaxSequenceLength"), m.MaxSequenceLength, MaxSequenceLength),
        };
        foreach (var (item, stage) in stages)
        {
            checks.Add((item.Get("SequenceLength"), stage.SequenceLength, MaxSequenceLength));
            checks.Add((item.Get("BatchSize"), stage.BatchSize, MaxBatchSize));
        }
        var reported = new HashSet<SourceLocation>();
        foreach (var (value, size, max) in checks.Where(c => c.Value is not null && c.Size > c.Max))
        {
            var v = value!.Value;
            if (!reported.Add(v.Location)) continue; // ModelDim beyond its limit makes its default FfnDim so too: one mistake
            // FfnDim defaults to 8/3 x ModelDim: when unset, the ModelDim that made it is the value to change.
            var beyond = v.What == "ModelDim" && size != m.ModelDim
                ? m.LayerShapes is null ? $"{v.What} is {v.Text}, so the default FfnDim (8/3 x ModelDim = {size}) is" : $"{v.What} is {v.Text}, so the widest layer's FFN ({size}) is"
                : v.What == "FfnMultipliers" ? $"{v.What} is {v.Text}, so the widest layer's FFN ({size}) is" : $"{v.What} is {v.Text},";
            context.Error(DiagnosticCodes.ResourcesExceeded, v.Location,
                $"{beyond} beyond any sane model (at most {max}); the model would have {Count(parameters)} parameters "
                + $"and its training state alone {Bytes(ResourceEstimate.TrainingState(m))}. Lower {v.What.Split(' ')[0]}.");
        }
        return reported.Count > 0;
    }

    private static Need TrainingNeed(SpecContext context, ModelShape model, ItemView item, StageShape stage, double parameters)
    {
        var state = ResourceEstimate.TrainingState(model);
        var activations = ResourceEstimate.Activations(model, stage);
        var rope = ResourceEstimate.RopeTables(model);
        var logits = 2 * ResourceEstimate.BytesPerFloat * stage.BatchSize * (double)stage.SequenceLength * model.VocabSize;
        // Blame the part that dominates, and in it the value out of proportion (see BlameModel / BlameBatch).
        var blamed = Math.Max(state, Math.Max(activations, rope)) == state ? BlameModel(context, model)
            : rope > activations ? context.Property("MaxSequenceLength") ?? item.Get("SequenceLength")
            : logits > activations / 2 ? context.Items("Tokenizer").FirstOrDefault()?.Get("VocabSize")
            : stage.BatchSize > stage.SequenceLength ? item.Get("BatchSize") ?? item.Get("SequenceLength") : item.Get("SequenceLength");
        return new Need(item.Describe, state + activations + rope,
            $"{Count(parameters)} parameters: weights, gradients and AdamW state {Bytes(state)}; activations of one batch of {stage.BatchSize} x {stage.SequenceLength} tokens {Bytes(activations)}; RoPE tables {Bytes(rope)}",
            blamed, item.Location);
    }

    /// <summary>
    /// The model value that makes it big: the vocabulary when the embedding dominates, else Layers when the model is
    /// deeper than ModelDim / 32 (far out of the usual proportion of ~ModelDim / 100), else FfnDim when it is set above
    /// 8 x ModelDim, else ModelDim.
    /// </summary>
    private static RawValue? BlameModel(SpecContext context, ModelShape m)
    {
        double embedding = (m.TieEmbeddings ? 1 : 2) * (double)m.VocabSize * m.ModelDim;
        if (embedding * 2 > ResourceEstimate.Parameters(m))
            return context.Items("Tokenizer").FirstOrDefault()?.Get("VocabSize");
        if (m.Layers > Math.Max(32, m.ModelDim / 32)) return context.Property("Layers");
        if (context.Property("FfnDim") is { } ffn && m.FfnDim > 8 * m.ModelDim) return ffn;
        return context.Property("ModelDim");
    }

    private static void Compare(SpecContext context, Need need, string resource, long available, double limit, bool allow)
    {
        var location = need.Blamed?.Location ?? need.Fallback;
        var estimate = $"{Describe(need.Blamed)}{need.What} needs an estimated {Bytes(need.Bytes)} ({need.Breakdown})";
        if (need.Bytes > limit)
            context.Error(DiagnosticCodes.ResourcesExceeded, location,
                $"{estimate}, more than any model build needs ({Bytes(limit)} of {resource}). {Fix(need.Blamed)}");
        else if (need.Bytes > available && !allow)
            context.Error(DiagnosticCodes.ResourcesExceeded, location,
                $"{estimate}, but this machine has {Bytes(available)} of {resource}. {Fix(need.Blamed)} To try anyway, set <{OverrideProperty}>true</{OverrideProperty}>.");
        else if (need.Bytes > available * NearFraction)
            context.Warning(DiagnosticCodes.ResourcesNearMachine, location,
                $"{estimate}, {need.Bytes / available:P0} of the {Bytes(available)} of {resource} this machine has; the build may run out of it.");
    }

    private static string Describe(RawValue? value) => value is { } v ? $"{v.What} is {v.Text}: " : "";

    private static string Fix(RawValue? value) => value is { } v ? $"Lower {v.What.Split(' ')[0]}." : "Use smaller values.";

    internal static string Bytes(double bytes)
    {
        string[] units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
        var unit = 0;
        while (bytes >= 1000 && unit < units.Length - 1) { bytes /= 1000; unit++; }
        return unit == 0 ? $"{bytes:0} bytes" : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.#} {units[unit]}");
    }

    private static string Count(double count) =>
        count < 1e6 ? count.ToString("N0", CultureInfo.InvariantCulture) : count.ToString("0.##e0", CultureInfo.InvariantCulture);
}
