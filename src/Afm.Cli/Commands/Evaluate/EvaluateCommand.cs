using System.CommandLine;
using Afm.Core.Artifacts;
using Afm.Cli.Compilation;
using Afm.Evaluation.Running;

namespace Afm.Cli.Commands.Evaluate;

/// <summary>
/// <c>afm evaluate</c>: the options of the evaluate stage (Afm.Evaluation's <c>EvaluateStage</c>, specs/afmproj.md,
/// EvalTask): every EvalTask on every variant of the exported model, run in ONNX Runtime as on a device.
/// </summary>
internal static class EvaluateCommand
{
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
        var command = new Command(StageLayout.Evaluate.Name, "Run the benchmark tasks on every model variant through ONNX Runtime.")
            { spec, tokenizer, export, adapters, train, quantized, evaluateFloat, output };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            EvaluateStage.Run(SpecFile.Load(result.GetValue(spec)!), result.GetValue(tokenizer)!, result.GetValue(export)!, result.GetValue(adapters),
                result.GetValue(train), result.GetValue(quantized), result.GetValue(evaluateFloat), result.GetValue(output)!, CompilerOutput.Progress);
            return 0;
        }));
        return command;
    }
}
