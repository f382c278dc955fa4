using System.Text;
using Afm.Core.Artifacts;
using Afm.Core.Diagnostics;
using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Evaluation.Reports;
using Afm.Evaluation.Scoring;
using Afm.Evaluation.Tasks;
using Afm.Onnx.Export;
using Afm.Runtime.Adapters;
using Afm.Runtime.Sessions;
using Afm.Tokenizers;

namespace Afm.Evaluation.Running;

/// <summary>An exported graph to evaluate: "float" or "quantized", with the folder of its compiled adapters (or none).</summary>
internal sealed record VariantGraph(string Name, string GraphPath, string? AdaptersFolder);

/// <summary>
/// The evaluate stage (verb <c>evaluate</c>, target AfmEvaluate): every task on every variant the build has. A graph alone is a variant (float, quantized); on the
/// graph with adapters, each accuracy-recovery adapter makes a variant for every task (<c>quantized+recovery-r16</c>),
/// and a task's feature adapter (Adapter metadata) a variant for that task only (<c>quantized+summarize</c>).
/// </summary>
public static class EvaluateStage
{
    /// <summary>
    /// The stage's entry (<c>afm evaluate</c>, target AfmEvaluate): evaluates the exported graph (with the compiled
    /// adapters) and, with <paramref name="evaluateFloat"/> and a quantized export, the trained float weights exported to
    /// a private graph first (<c>float/model.onnx</c> in the stage's folder) so the float model runs the same way; then
    /// writes the chart, the markdown and, last, the report, the target's declared output (StageLayout.Evaluate).
    /// </summary>
    /// <param name="exportAdaptersDirectory">The export-adapters stage's folder; null or empty: no adapter variants.</param>
    /// <param name="trainDirectory">The train stage's folder: its float weights with <paramref name="evaluateFloat"/>.</param>
    /// <param name="quantized">The export holds the quantized weights (the project has a QuantizationPlan).</param>
    public static EvaluationReport Run(ModelSpec spec, string tokenizerDirectory, string exportDirectory, string? exportAdaptersDirectory,
        string? trainDirectory, bool quantized, bool evaluateFloat, string outputDirectory, Action<string> progress)
    {
        var graphs = new List<VariantGraph>();
        if (quantized && evaluateFloat && trainDirectory is { Length: > 0 })
        {
            var floatGraph = Path.Combine(outputDirectory, FloatFolder, StageLayout.Export.Model);
            var weights = SafeTensorsWeights.Load(spec.Architecture, Path.Combine(trainDirectory, StageLayout.Train.Weights));
            DecoderExporter.Export(weights with { Ops = spec.OnnxOps }, ToolchainInfo.Current.Version, floatGraph);
            graphs.Add(new VariantGraph(FloatVariant, floatGraph, null));
        }
        graphs.Add(new VariantGraph(quantized ? QuantizedVariant : FloatVariant, Path.Combine(exportDirectory, StageLayout.Export.Model),
            exportAdaptersDirectory is { Length: > 0 } ? exportAdaptersDirectory : null));
        var report = Evaluate(spec, tokenizerDirectory, graphs, progress);
        AtomicOutput.WriteFile(Path.Combine(outputDirectory, StageLayout.Evaluate.Chart), stream => stream.Write(EvaluationChart.RenderPng(report)));
        AtomicOutput.WriteAllTextIfChanged(Path.Combine(outputDirectory, StageLayout.Evaluate.ReportMarkdown), EvaluationMarkdown.Render(report));
        // Last: the report is the target's declared output, so it exists only when everything beside it was written.
        AtomicOutput.WriteFile(Path.Combine(outputDirectory, StageLayout.Evaluate.Report), stream => stream.Write(Encoding.UTF8.GetBytes(report.ToJson())));
        return report;
    }

    private const string FloatVariant = "float", QuantizedVariant = "quantized";
    /// <summary>The float model's private graph, inside the stage's folder (not packaged).</summary>
    private const string FloatFolder = "float";

    private static EvaluationReport Evaluate(ModelSpec spec, string tokenizerDirectory, IReadOnlyList<VariantGraph> graphs, Action<string> progress)
    {
        var tokenizer = AfmTokenizer.Load(tokenizerDirectory);
        var tasks = spec.EvalTasks.Select(t => new LoadedTask(t, spec.Seed)).ToList();
        var results = tasks.ToDictionary(t => t.Spec.Name, _ => new SortedDictionary<string, IReadOnlyList<MetricValue>>(StringComparer.Ordinal));
        var variants = new List<string>();
        foreach (var graph in graphs)
        {
            using var session = new DecoderSession(graph.GraphPath, new RuntimeOptions { IntraOpThreads = spec.Threads });
            using var folder = AdapterFolder.Open(graph.AdaptersFolder);
            using var loaded = folder is null ? null : AdapterSet.Load(folder.Root, session.BaseSha256, session.GraphInputs);
            var adapters = loaded ?? AdapterSet.Empty;
            var recovery = spec.Adapters.Where(a => a.Kind == AdapterKind.AccuracyRecovery && adapters.Contains(a.Name)).Select(a => a.Name).ToList();
            foreach (var adapter in new string?[] { null }.Concat(recovery))
            {
                var variant = adapter is null ? graph.Name : $"{graph.Name}+{adapter}";
                variants.Add(variant);
                var model = new OnnxLanguageModel(session, tokenizer, adapters, adapter);
                foreach (var task in tasks)
                    results[task.Spec.Name][variant] = task.Score(model).Metrics;
            }
            foreach (var task in tasks.Where(t => t.Spec.Adapter is { } a && adapters.Contains(a) && !recovery.Contains(a)))
            {
                var variant = $"{graph.Name}+{task.Spec.Adapter}";
                if (!variants.Contains(variant)) variants.Add(variant);
                results[task.Spec.Name][variant] = task.Score(new OnnxLanguageModel(session, tokenizer, adapters, task.Spec.Adapter)).Metrics;
            }
        }
        var report = new EvaluationReport
        {
            Model = spec.Name, Seed = spec.Seed, Variants = variants,
            Tasks = tasks.Select(t => new TaskReport
            {
                Name = t.Spec.Name, Kind = t.Spec.KindName, Items = t.Items, MainMetric = t.MainMetric,
                HigherIsBetter = t.Spec.Kind != EvalTaskKind.Perplexity, Results = results[t.Spec.Name],
            }).ToList(),
        };
        foreach (var task in report.Tasks)
            progress($"evaluate: {task.Name} ({task.Kind}, {task.Items} items) {task.MainMetric}: " +
                string.Join(" | ", report.Variants.Where(task.Results.ContainsKey).Select(v => $"{v} {EvaluationMarkdown.Cell(task.Results[v][0].Value, task.Results[v][0].StandardError)}")));
        return report;
    }

    /// <summary>A task with its records read once, scored on any variant.</summary>
    private sealed class LoadedTask
    {
        private readonly long seed;
        private readonly IReadOnlyList<MultipleChoiceItem>? choices;
        private readonly Func<int, string>? prefixes;
        private readonly IReadOnlyList<GenerateItem>? prompts;
        private readonly IReadOnlyList<TextDocument>? documents;

        public LoadedTask(EvalTaskSpec spec, long seed)
        {
            Spec = spec;
            this.seed = seed;
            switch (spec.Kind)
            {
                case EvalTaskKind.MultipleChoice:
                    choices = TaskFileReader.ReadMultipleChoice(spec);
                    if (spec.Shots > 0 && spec.FewShotData is { } fewShot)
                    {
                        var examples = TaskFileReader.ReadMultipleChoice(spec, [fewShot]);
                        if (examples.Count < spec.Shots)
                            throw EvaluationCodes.Error(EvaluationCodes.TooFewShots, SourceLocation.FileOnly(fewShot),
                                $"task '{spec.Name}' asks for {spec.Shots} shots, but its FewShotData holds {examples.Count} records. Add records or lower Shots.");
                        prefixes = FewShotPrompts.Prefixes(choices, examples, spec.Shots, seed);
                    }
                    break;
                case EvalTaskKind.Generate:
                    prompts = TaskFileReader.ReadGenerate(spec);
                    break;
                default:
                    documents = TaskFileReader.ReadDocuments(spec);
                    break;
            }
        }

        public EvalTaskSpec Spec { get; }
        public int Items => choices?.Count ?? prompts?.Count ?? documents!.Count;
        public string MainMetric => Spec.Kind switch { EvalTaskKind.MultipleChoice => "acc", EvalTaskKind.Generate => "rouge_l", _ => "bits_per_byte" };

        public TaskScore Score(ILanguageModel model) => Spec.Kind switch
        {
            EvalTaskKind.MultipleChoice => MultipleChoiceScorer.Score(choices!, model, seed, prefixes),
            EvalTaskKind.Generate => GenerateScorer.Score(prompts!, model, Spec.MaxTokens, Spec.Stop, seed),
            _ => BitsPerByteScorer.Score(documents!, model, seed),
        };
    }

    /// <summary>
    /// The runtime loads adapters from an artifact's <c>adapters/</c> folder; the export-adapters stage writes the same
    /// files into a folder of its own, so a private folder links to it under that name.
    /// </summary>
    private sealed class AdapterFolder : IDisposable
    {
        public required string Root { get; init; }

        public static AdapterFolder? Open(string? adaptersFolder)
        {
            if (adaptersFolder is null || !Directory.Exists(adaptersFolder)) return null;
            var root = Path.Combine(Path.GetTempPath(), $"afm-evaluate-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(root);
            Directory.CreateSymbolicLink(Path.Combine(root, ArtifactLayout.AdaptersFolder.TrimEnd('/')), Path.GetFullPath(adaptersFolder));
            return new AdapterFolder { Root = root };
        }

        public void Dispose()
        {
            try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
        }
    }
}
