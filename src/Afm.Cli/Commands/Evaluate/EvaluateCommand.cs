using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Core.Artifacts;
using Afm.Packaging;
using Afm.Core.IO;
using Afm.Evaluation.Reports;
using Afm.Evaluation.Running;
using Afm.Onnx.Export;

namespace Afm.Cli.Commands.Evaluate;

/// <summary>
/// <c>afm evaluate</c>: the EvalTask items on every variant of the exported model (specs/afmproj.md, EvalTask) ->
/// <c>&lt;out&gt;/evaluation.json</c>, <c>evaluation.md</c>, <c>evaluation.png</c>. The graphs run in ONNX Runtime through
/// Afm.Runtime, as on a device. With <c>--float</c> and a quantized export, the trained float weights are exported to a
/// private graph first, so the float model is evaluated the same way.
/// </summary>
internal static class EvaluateCommand
{
    public const string ReportFile = StageLayout.Evaluate.Report, MarkdownFile = StageLayout.Evaluate.ReportMarkdown, ChartFile = StageLayout.Evaluate.Chart;

    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var tokenizer = StageOptions.Tokenizer();
        var export = StageOptions.Required("--export", "The export folder written by `afm export` (model.onnx).").ExistingDirectory();
        var adapters = new Option<string?>("--export-adapters") { Description = "The folder written by `afm export-adapters`; optional." };
        var train = new Option<string?>("--train") { Description = "The train folder: with --float, its float weights are evaluated too." };
        var quantized = new Option<bool>("--quantized") { Description = "The export holds the quantized weights (the project has a QuantizationPlan)." };
        var evaluateFloat = new Option<bool>("--float") { Description = "Also evaluate the float model (exported here from --train)." };
        var output = StageOptions.Out("Evaluation folder: evaluation.json, evaluation.md, evaluation.png.");
        var command = new Command("evaluate", "Run the benchmark tasks on every model variant through ONNX Runtime.")
            { spec, tokenizer, export, adapters, train, quantized, evaluateFloat, output };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            var model = SpecFile.Load(result.GetValue(spec)!);
            var outputDirectory = result.GetValue(output)!;
            var isQuantized = result.GetValue(quantized);
            var graphs = new List<VariantGraph>();
            if (isQuantized && result.GetValue(evaluateFloat) && result.GetValue(train) is { Length: > 0 } trainDirectory)
            {
                var floatGraph = Path.Combine(outputDirectory, "float", StageLayout.Export.Model);
                var weights = SafeTensorsWeights.Load(model.Architecture, Path.Combine(trainDirectory, StageLayout.Train.Weights));
                DecoderExporter.Export(weights with { Ops = model.OnnxOps }, ArtifactBuilder.ToolchainVersion(), floatGraph);
                graphs.Add(new VariantGraph("float", floatGraph, null));
            }
            graphs.Add(new VariantGraph(isQuantized ? "quantized" : "float", Path.Combine(result.GetValue(export)!, StageLayout.Export.Model),
                result.GetValue(adapters) is { Length: > 0 } a ? a : null));
            var report = EvaluationStage.Run(model, result.GetValue(tokenizer)!, graphs, CompilerOutput.Progress);
            AtomicOutput.WriteFile(Path.Combine(outputDirectory, ChartFile), stream => stream.Write(EvaluationChart.RenderPng(report)));
            AtomicOutput.WriteAllTextIfChanged(Path.Combine(outputDirectory, MarkdownFile), EvaluationMarkdown.Render(report));
            // Last: the report is the target's declared output, so it exists only when everything beside it was written.
            AtomicOutput.WriteFile(Path.Combine(outputDirectory, ReportFile), stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(report.ToJson())));
            return 0;
        }));
        return command;
    }
}
