using Afm.Core.Diagnostics;
using Afm.Core.Spec.Reading;
using Afm.Core.Spec.Resources;

namespace Afm.Core.Spec;

/// <summary>The outcome of reading a project: a spec when there is no error, and every diagnostic either way.</summary>
public sealed record SpecResult(ModelSpec? Spec, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool Succeeded => Spec is not null;
}

/// <summary>
/// Turns the MSBuild layer's <see cref="ProjectSnapshot"/> into a typed, validated <see cref="ModelSpec"/>.
/// It reports every mistake it can find in one pass, each located at the element or attribute that made
/// it, and never throws for anything a user wrote.
/// </summary>
public static class ProjectSpecReader
{
    /// <param name="baseModels">The reader of BaseModel folders (Afm.Interchange's); null: a BaseModel item is an error.</param>
    public static SpecResult Read(ProjectSnapshot snapshot, IBaseModelFormat? baseModels = null) => Read(snapshot, machine: null, baseModels);

    /// <param name="machine">The machine the estimates are compared with; null: this one (tests pass a fixed one).</param>
    internal static SpecResult Read(ProjectSnapshot snapshot, MachineCapacity? machine, IBaseModelFormat? baseModels = null)
    {
        if (SnapshotProblem(snapshot) is { } problem)
            return new SpecResult(null, [new Diagnostic(DiagnosticSeverity.Error, DiagnosticCodes.MalformedSnapshot,
                $"The project snapshot is malformed ({problem}). This is a fault of the Afm SDK, not of the project; please report it.",
                SourceLocation.FileOnly(string.IsNullOrEmpty(snapshot?.ProjectPath) ? "afm" : snapshot.ProjectPath))]);

        var context = new SpecContext(snapshot);
        var hasBase = BaseModelReader.Declared(context);
        var properties = PropertyReader.Read(context, hasBase);
        var baseModel = BaseModelReader.Read(context, baseModels);
        if (baseModel is not null) properties = BaseModelReader.Merge(context, properties, baseModel);
        var tokenizer = baseModel is not null ? BaseModelReader.Tokenizer(context, baseModel) : hasBase ? null : TokenizerReader.Read(context);
        var corpora = FileSetReader.Read(context, "Corpus", defaultName: null, hasDecontaminate: false, out var corpusGaps);
        if (context.Items("Corpus").Count == 0 && !context.Locator.UnmatchedWildcards("Corpus").Any())
            context.Error(DiagnosticCodes.CorpusMissing, context.Locator.Project,
                "The project has no corpus. Add <Corpus Include=\"data/*.txt\" Name=\"web\" /> to an <ItemGroup>.");
        var evalSets = FileSetReader.Read(context, "EvalSet", defaultName: "eval", hasDecontaminate: true, out _);
        var stages = StageReader.Read(context, properties.RopeBase, corpora, corpusGaps, stagesOptional: hasBase, properties.Determinism);
        StageReader.CheckSequenceLengths(context, stages, properties);
        LaterStageItems.Warn(context);
        var cleaning = DataCleaningReader.Read(context);
        var quantization = QuantizationPlanReader.Read(context);
        var devices = DeviceProfileReader.Read(context);
        DeviceProfileReader.CheckWorkloads(context, properties.MaxSequenceLength
            ?? stages.Where(s => s.Spec is not null).Select(s => (int?)s.Spec!.SequenceLength).Max());
        var teacher = TeacherReader.Read(context);
        var calibration = CalibrationDataReader.Shape(hasBase, stages.Count, quantization, context, properties, corpora);
        // Recovery adapters of a project without a stage train on the calibration data, as on a stage's.
        var adapters = AdapterReader.Read(context, properties, calibration is null ? stages.Select(s => s.Spec).ToList() : [calibration], quantization is not null);
        var exports = ExportFormatsReader.Read(context);
        var evalTasks = EvalTaskReader.Read(context, evalSets, adapters);
        var chatTemplate = ChatTemplateReader.Read(context);
        ResourceCheck.Run(context, ModelShape(properties, tokenizer, stages), TrainingShapes(context, stages, adapters),
            corpora.Sum(c => c.Bytes), corpora.FirstOrDefault()?.Location ?? context.Locator.Project,
            machine ?? MachineCapacity.Of(context.Property("AfmIntermediateDirectory")?.Text ?? context.ProjectDirectory));
        if (adapters.Any(a => a.Kind == AdapterKind.AccuracyRecovery) && quantization is null)
            context.Warning(DiagnosticCodes.AdaptersWithoutQuantizationPlan, adapters.First(a => a.Kind == AdapterKind.AccuracyRecovery).Location!,
                "Accuracy-recovery adapters are trained on the float model because the project has no QuantizationPlan, so there is no quantization loss for them to recover. Add a <QuantizationPlan>, or remove the recovery adapter.");
        if (quantization is null) AdapterReader.CheckFloatBase(context, adapters);

        if (context.HasErrors) return new SpecResult(null, context.Diagnostics);
        var spec = Assemble(snapshot, properties, tokenizer!, corpora, evalSets, stages.Select(s => s.Spec!).ToList());
        if (baseModel is not null)
            spec = spec with { Architecture = BaseModelReader.Architecture(baseModel, properties), BaseModel = baseModel.Spec };
        return new SpecResult(cleaning.Apply(spec) with { Quantization = quantization, Devices = devices, Teacher = teacher, Adapters = adapters, Exports = exports, EvalTasks = evalTasks, ChatTemplate = chatTemplate,
            CalibrationData = calibration is null ? null : CalibrationDataReader.Sized(calibration, quantization, adapters) }, context.Diagnostics);
    }

    /// <summary>
    /// What trains and packs its own data: every training stage, and every feature adapter (it packs its Data for its
    /// Tokens; recovery adapters reuse a stage's data).
    /// </summary>
    private static List<(ItemView Item, StageShape Shape)> TrainingShapes(SpecContext context, List<(ItemView Item, TrainingStageSpec? Spec)> stages,
        IReadOnlyList<AdapterSpec> adapters)
    {
        var shapes = stages.Where(s => s.Spec is not null)
            .Select(s => (s.Item, new StageShape(s.Spec!.Tokens, s.Spec.SequenceLength, s.Spec.BatchSize))).ToList();
        var items = context.Items("Adapter");
        foreach (var adapter in adapters.Where(a => a.Kind == AdapterKind.Feature))
            if (items.FirstOrDefault(i => string.Equals(i.Include, adapter.Name, StringComparison.OrdinalIgnoreCase)) is { } item)
                shapes.Add((item, new StageShape(adapter.Tokens, adapter.SequenceLength, adapter.BatchSize)));
        return shapes;
    }

    /// <summary>The sizes the resource check needs, or null when one of them is invalid (and reported already).</summary>
    private static ModelShape? ModelShape(ProjectProperties p, TokenizerSpec? tokenizer, List<(ItemView Item, TrainingStageSpec? Spec)> stages)
    {
        if (p.ModelDim is not int dim || p.Layers is not int layers || p.Heads is not int heads || p.KvHeads is not int kv || p.FfnDim is not long ffn
            || tokenizer is null || p.TieEmbeddings is not bool tie || p.QkNorm is not bool qk || p.AttentionBias is not bool bias) return null;
        var longest = stages.Where(s => s.Spec is not null).Select(s => (long)s.Spec!.SequenceLength).DefaultIfEmpty(0).Max();
        return new ModelShape(dim, layers, heads, kv, ffn, tokenizer.VocabSize, tie, qk, p.MaxSequenceLength ?? longest)
        {
            ExplicitHeadDim = p.HeadDim, AttentionBias = bias, LayerShapes = p.LayerShapes,
        };
    }

    /// <summary>Only called without errors, so every value a reader left null would have been reported.</summary>
    private static ModelSpec Assemble(ProjectSnapshot snapshot, ProjectProperties p, TokenizerSpec tokenizer,
        List<FileSet> corpora, List<FileSet> evalSets, List<TrainingStageSpec> stages) => new()
    {
        ProjectPath = Path.GetFullPath(snapshot.ProjectPath),
        Name = p.Name!,
        Version = p.Version!,
        Seed = p.Seed!.Value,
        Threads = p.Threads!.Value,
        Determinism = p.Determinism!.Value,
        Architecture = new ArchitectureSpec
        {
            ModelDim = p.ModelDim!.Value,
            Layers = p.Layers!.Value,
            Heads = p.Heads!.Value,
            KvHeads = p.KvHeads!.Value,
            // The resource check refused any model whose FfnDim would not fit an int (its parameter count is beyond any sane model).
            FfnDim = checked((int)p.FfnDim!.Value),
            VocabSize = tokenizer.VocabSize,
            RopeBase = p.RopeBase!.Value,
            TieEmbeddings = p.TieEmbeddings!.Value,
            QkNorm = p.QkNorm!.Value,
            // With a BaseModel the merged properties always hold a length (the project's, else the base's).
            MaxSequenceLength = p.MaxSequenceLength ?? stages.Max(s => s.SequenceLength),
            NormEpsilon = p.NormEpsilon!.Value,
            ExplicitHeadDim = p.HeadDim,
            AttentionBias = p.AttentionBias!.Value,
            LayerShapes = p.LayerShapes,
        },
        OnnxOps = p.OnnxOps ?? OnnxOpsNames.Default,
        Tokenizer = tokenizer,
        Corpora = corpora.Select(c => new CorpusSpec
        {
            Name = c.Name, Files = c.Files, Format = c.Format, TextField = c.TextField, Location = c.Location,
        }).ToList(),
        EvalSets = evalSets.Select(e => new EvalSetSpec
        {
            Name = e.Name, Files = e.Files, Format = e.Format, TextField = e.TextField, Decontaminate = e.Decontaminate, Location = e.Location,
        }).ToList(),
        TrainingStages = stages,
        ValidationFraction = p.ValidationFraction!.Value,
    };

    /// <summary>What the SDK must always write; anything missing here is our bug, not the user's.</summary>
    private static string? SnapshotProblem(ProjectSnapshot? snapshot)
    {
        if (snapshot is null) return "no snapshot";
        if (string.IsNullOrWhiteSpace(snapshot.ProjectPath)) return "no projectPath";
        if (!Path.IsPathFullyQualified(snapshot.ProjectPath)) return $"projectPath '{snapshot.ProjectPath}' is not absolute";
        if (snapshot.Properties is null) return "no properties";
        if (snapshot.Items is null) return "no items";
        for (var i = 0; i < snapshot.Items.Count; i++)
        {
            var item = snapshot.Items[i];
            if (item is null) return $"item {i} is null";
            if (string.IsNullOrWhiteSpace(item.Type)) return $"item {i} has no type";
            if (item.Include is null) return $"item {i} has no include";
            if (item.Metadata is null) return $"item {i} has no metadata";
            if (item.Metadata.Values.Any(v => v is null)) return $"item {i} has a null metadata value";
            if (HasCaseDuplicates(item.Metadata.Keys)) return $"item {i} has metadata names differing only in case";
        }
        if (snapshot.Properties.Values.Any(v => v is null)) return "a property value is null";
        // MSBuild names are case-insensitive, so it can never produce these; the reader relies on that.
        if (HasCaseDuplicates(snapshot.Properties.Keys)) return "property names differ only in case";
        return null;
    }

    private static bool HasCaseDuplicates(IEnumerable<string> names) =>
        names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).Any(g => g.Count() > 1);
}
