using System.Text;
using System.Text.Json;
using Afm.Core.Artifacts;
using Afm.Core.Spec;
using Afm.Training.Stages;

namespace Afm.Packaging;

public sealed record PackageInputs(ModelSpec Spec, string TokenizerDirectory, string DataDirectory, string TrainDirectory)
{
    /// <summary>Folder of the export stage; when set, its model.onnx is packaged as <see cref="ArtifactLayout.OnnxModel"/>.</summary>
    public string? ExportDirectory { get; init; }
    /// <summary>Folder of the quantize stage; when set, the quantized weights and the quantization report are packaged.</summary>
    public string? QuantizeDirectory { get; init; }
    /// <summary>Folder of the profile stage; when set, each declared device's profile and reports are packaged (specs/profiling.md).</summary>
    public string? ProfileDirectory { get; init; }
    /// <summary>Folder of the adapters stage; when set, each adapter's files and the adapters report are packaged (specs/adapters.md).</summary>
    public string? AdaptersDirectory { get; init; }
    /// <summary>Folder of the export-adapters stage; when set, each adapter's <c>&lt;name&gt;.onnx_adapter</c> and <c>&lt;name&gt;.json</c> go under <see cref="ArtifactLayout.AdaptersFolder"/>.</summary>
    public string? OnnxAdaptersDirectory { get; init; }
    /// <summary>Keep the sources of compiled entries (float weights beside quantized ones, adapter.safetensors beside .onnx_adapter); see <see cref="DeployLayout"/>.</summary>
    public bool Sources { get; init; }
    /// <summary>Folder of the evaluate stage; when it holds a report, the evaluation report, table and chart are packaged.</summary>
    public string? EvaluateDirectory { get; init; }
}

/// <summary>Collects the files of an artifact and writes its manifest over them.</summary>
public static class ArtifactBuilder
{
    public static SortedDictionary<string, ArtifactEntry> Build(PackageInputs inputs) => Build(inputs, out _);

    /// <param name="leftOut">The source entries the deploy layout left out (empty with <see cref="PackageInputs.Sources"/>).</param>
    public static SortedDictionary<string, ArtifactEntry> Build(PackageInputs inputs, out IReadOnlyList<string> leftOut)
    {
        var spec = inputs.Spec;
        var entries = new SortedDictionary<string, ArtifactEntry>(StringComparer.Ordinal)
        {
            [ArtifactLayout.Spec] = Utf8(PortableSpec.Serialize(spec, SpecJson.Options)),
            [ArtifactLayout.Weights] = ArtifactEntry.FromFile(Path.Combine(inputs.TrainDirectory, StageLayout.Train.Weights)),
            [ArtifactLayout.DataReport] = ArtifactEntry.FromFile(Path.Combine(inputs.DataDirectory, StageLayout.Data.Index)),
            [ArtifactLayout.DataCleaningReport] = ArtifactEntry.FromFile(Path.Combine(inputs.DataDirectory, StageLayout.Data.Report)),
            [ArtifactLayout.DataCleaningReportMarkdown] = ArtifactEntry.FromFile(Path.Combine(inputs.DataDirectory, StageLayout.Data.ReportMarkdown)),
        };
        foreach (var file in Directory.EnumerateFiles(inputs.TokenizerDirectory).Order(StringComparer.Ordinal))
            entries[ArtifactLayout.TokenizerFolder + Path.GetFileName(file)] = ArtifactEntry.FromFile(file);
        // The project's chat template goes beside the tokenizer under Hugging Face's name, where every tokenizer folder's
        // reader takes it (Afm.Tokenizers' ChatTemplateFile); only this stage carries it, so editing it re-trains nothing.
        if (spec.ChatTemplate is { } chatTemplate)
            entries[ArtifactLayout.TokenizerFolder + Afm.Tokenizers.HuggingFaceFiles.ChatTemplateJinja] = ArtifactEntry.FromFile(chatTemplate.Path);

        if (inputs.ExportDirectory is { Length: > 0 } exportDirectory)
        {
            entries[ArtifactLayout.OnnxModel] = ArtifactEntry.FromFile(Path.Combine(exportDirectory, StageLayout.Export.Model));
            // A graph whose initializers exceed 1 GiB keeps them in model.onnx.data beside it (specs/onnx-export.md); ONNX
            // Runtime finds it by the name the graph records, relative to the graph's folder.
            var externalData = Path.Combine(exportDirectory, StageLayout.Export.Model + Afm.Onnx.Export.OnnxModelFile.DataSuffix);
            if (File.Exists(externalData)) entries[ArtifactLayout.OnnxExternalData] = ArtifactEntry.FromFile(externalData);
        }

        bool quantized = inputs.QuantizeDirectory is { Length: > 0 } q && File.Exists(Path.Combine(q, StageLayout.Quantize.Report));
        if (quantized)
        {
            entries[ArtifactLayout.QuantizedWeights] = ArtifactEntry.FromFile(Path.Combine(inputs.QuantizeDirectory!, StageLayout.Quantize.Weights));
            entries[ArtifactLayout.QuantizationReport] = ArtifactEntry.FromFile(Path.Combine(inputs.QuantizeDirectory!, StageLayout.Quantize.Report));
            entries[ArtifactLayout.QuantizationReportMarkdown] = ArtifactEntry.FromFile(Path.Combine(inputs.QuantizeDirectory!, StageLayout.Quantize.ReportMarkdown));
            entries[ArtifactLayout.QuantizationChart] = ArtifactEntry.FromFile(Path.Combine(inputs.QuantizeDirectory!, StageLayout.Quantize.Chart));
        }

        if (inputs.ProfileDirectory is { Length: > 0 } profileDirectory)
            ProfileEntries.Add(entries, profileDirectory, spec);

        bool adapted = inputs.AdaptersDirectory is { Length: > 0 } a && File.Exists(Path.Combine(a, StageLayout.Adapters.Report));
        if (adapted) AdapterEntries(entries, inputs.AdaptersDirectory!);
        bool adaptersExported = inputs.OnnxAdaptersDirectory is { Length: > 0 } onnxAdapters && Directory.Exists(onnxAdapters);
        if (adaptersExported)
            foreach (var file in Directory.EnumerateFiles(inputs.OnnxAdaptersDirectory!).Where(f => f.EndsWith(Afm.Onnx.Adapters.OnnxAdapterFormat.Extension, StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal) && Path.GetFileName(f) != StageLayout.ExportAdapters.Index))
                entries[ArtifactLayout.AdaptersFolder + Path.GetFileName(file)] = ArtifactEntry.FromFile(file);

        if (inputs.EvaluateDirectory is { Length: > 0 } evaluated && File.Exists(Path.Combine(evaluated, StageLayout.Evaluate.Report)))
            foreach (var (entry, file) in new[] { (ArtifactLayout.EvaluationReport, StageLayout.Evaluate.Report),
                         (ArtifactLayout.EvaluationReportMarkdown, StageLayout.Evaluate.ReportMarkdown), (ArtifactLayout.EvaluationChart, StageLayout.Evaluate.Chart) })
                entries[entry] = ArtifactEntry.FromFile(Path.Combine(evaluated, file));

        var reportPath = Path.Combine(inputs.TrainDirectory, StageLayout.Train.Report);
        entries[ArtifactLayout.TrainingReport] = ArtifactEntry.FromFile(reportPath);
        var report = JsonSerializer.Deserialize<TrainingSummary>(File.ReadAllBytes(reportPath), SpecJson.Options)!;
        entries[ArtifactLayout.TrainingChart] = ArtifactEntry.Of(LossChart.RenderPng($"{spec.Name} {spec.Version}: training", Curves(report), report.UnigramBaselineLoss));
        if (Afm.Training.PostTraining.PostTrainingReportMarkdown.Render($"{spec.Name} {spec.Version}", report) is { } postTraining)
            entries[ArtifactLayout.PostTrainingReportMarkdown] = Utf8(postTraining);

        leftOut = inputs.Sources ? [] : DeployLayout.RemoveSources(entries);
        var stages = StagesThatRan(inputs, spec, quantized, adapted, adaptersExported);
        var buildInputs = BuildInputs.Of(spec);
        entries[ArtifactLayout.Provenance] = ArtifactEntry.Of(ProvenanceStatement.Create(spec, buildInputs, stages, inputs.Sources, ToolchainInfo.Current.Version, entries));

        var manifest = new Manifest
        {
            Name = spec.Name,
            Version = spec.Version,
            Toolchain = ToolchainInfo.Current,
            Seed = spec.Seed,
            Threads = spec.Threads,
            Determinism = spec.Determinism.ToString().ToLowerInvariant(),
            Stages = stages,
            Inputs = BuildInputs.ForManifest(buildInputs),
            Files = entries.Select(e => new HashedFile(e.Key, e.Value.Length, e.Value.Sha256)).ToList(),
        };
        entries[ArtifactLayout.Manifest] = Utf8(SpecJson.Serialize(manifest));
        return entries;
    }

    /// <summary>The pipeline stages that produced this artifact, in pipeline order (optional ones only when they ran).</summary>
    private static List<string> StagesThatRan(PackageInputs inputs, ModelSpec spec, bool quantized, bool adapted, bool adaptersExported)
    {
        var stages = new List<string> { ValidateStage, StageLayout.Tokenizer.Name, StageLayout.Data.Name, StageLayout.Train.Name };
        if (inputs.ProfileDirectory is { Length: > 0 } && spec.Devices.Count > 0) stages.Add(StageLayout.Profile.Name);
        if (quantized) stages.Add(StageLayout.Quantize.Name);
        if (adapted) stages.Add(StageLayout.Adapters.Name);
        if (inputs.ExportDirectory is { Length: > 0 }) stages.Add(StageLayout.Export.Name);
        if (adaptersExported) stages.Add(StageLayout.ExportAdapters.Name);
        stages.Add(StageLayout.Package.Name);
        return stages;
    }

    /// <summary>Every file of each trained adapter (AdaptersStageOutput: adapter.safetensors, and what later stages put beside it) and the report.</summary>
    private static void AdapterEntries(SortedDictionary<string, ArtifactEntry> entries, string adaptersDirectory)
    {
        foreach (var adapter in AdaptersStageOutput.Adapters(adaptersDirectory))
            foreach (var file in Directory.EnumerateFiles(adapter.Folder).Order(StringComparer.Ordinal))
                if (Path.GetFileName(file) != Afm.Training.Adapters.AdaptersStage.ResultFile)
                    entries[$"{ArtifactLayout.AdaptersFolder}{adapter.Name}/{Path.GetFileName(file)}"] = ArtifactEntry.FromFile(file);
        entries[ArtifactLayout.AdaptersReport] = ArtifactEntry.FromFile(Path.Combine(adaptersDirectory, StageLayout.Adapters.Report));
        entries[ArtifactLayout.AdaptersReportMarkdown] = ArtifactEntry.FromFile(Path.Combine(adaptersDirectory, StageLayout.Adapters.ReportMarkdown));
    }

    /// <summary>Train and validation loss of every stage on one axis of cumulative training tokens.</summary>
    private static IEnumerable<LossSeries> Curves(TrainingSummary report)
    {
        long offset = 0;
        foreach (var stage in report.Stages)
        {
            var tokensPerStep = (double)stage.Tokens / Math.Max(1, stage.Steps);
            yield return new LossSeries($"{stage.Name} train", stage.TrainCurve.Select(p => (double)(offset + p.Tokens)).ToList(),
                stage.TrainCurve.Select(p => p.Loss).ToList(), Dashed: false);
            yield return new LossSeries($"{stage.Name} validation", stage.ValidationCurve.Select(p => offset + p.Step * tokensPerStep).ToList(),
                stage.ValidationCurve.Select(p => p.Loss).ToList(), Dashed: true);
            offset += stage.Tokens;
        }
    }

    private const string ValidateStage = "validate";

    private static ArtifactEntry Utf8(string text) => ArtifactEntry.Of(new UTF8Encoding(false).GetBytes(text));
}
