using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Compression.Storage;
using Afm.Core.IO;
using Afm.Training.Adapters;
using Afm.Core.Artifacts;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm adapters</c>: trains the project's Adapter items on the frozen base exactly as the artifact holds it (the
/// quantized weights dequantized when a QuantizationPlan exists, else the float weights), specs/adapters.md. Writes
/// <c>&lt;name&gt;/adapter.safetensors</c> per adapter, then <c>report.md</c> and, last, <c>report.json</c>.
/// </summary>
internal static class AdaptersCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var tokenizer = StageOptions.Tokenizer();
        var data = StageOptions.Data();
        var train = StageOptions.Train();
        var quantize = new Option<string?>("--quantize") { Description = "The quantize folder written by `afm quantize`; absent or empty: the adapters train on the float model." };
        var output = StageOptions.Out("Adapters folder: one folder per adapter and the adapters report.");
        var command = new Command("adapters", "Train the LoRA adapters of the project's Adapter items.") { spec, tokenizer, data, train, quantize, output };
        command.SetAction(result => CompilerRun.Guard(() => Run(result.GetValue(spec)!, result.GetValue(tokenizer)!, result.GetValue(data)!,
            result.GetValue(train)!, result.GetValue(quantize), result.GetValue(output)!)));
        return command;
    }

    private static int Run(string specPath, string tokenizerDirectory, string dataDirectory, string trainDirectory, string? quantizeDirectory, string outputDirectory)
    {
        var spec = SpecFile.Load(specPath);
        if (spec.Adapters.Count == 0)
        {
            // No adapters: clear what an earlier build left so nothing stale is packaged.
            if (Directory.Exists(outputDirectory)) Directory.Delete(outputDirectory, recursive: true);
            CompilerOutput.Progress("adapters: the project has no Adapter items; nothing to do");
            return 0;
        }
        string floatWeights = Path.Combine(trainDirectory, StageLayout.Train.Weights);
        string? quantized = spec.Quantization is not null && quantizeDirectory is { Length: > 0 } q ? Path.Combine(q, StageLayout.Quantize.Weights) : null;
        if (spec.Quantization is not null && (quantized is null || !File.Exists(quantized)))
            throw new InvalidOperationException("The project has a QuantizationPlan but the quantized weights are missing; the adapters stage runs after quantize.");
        // The base exactly as exported: palettized weights decoded back to float32, never the float model.
        var dequantized = quantized is null ? null : QuantizedWeightsFile.Dequantize(quantized);
        Directory.CreateDirectory(outputDirectory);
        File.Delete(Path.Combine(outputDirectory, StageLayout.Adapters.Report)); // the declared output goes first, so a failed run is never up to date
        var report = AdaptersStage.Run(new AdaptersStageInputs(spec, floatWeights, quantized ?? floatWeights, dequantized, dataDirectory,
            tokenizerDirectory, outputDirectory), CompilerOutput.Progress);
        AtomicOutput.WriteAllText(Path.Combine(outputDirectory, StageLayout.Adapters.ReportMarkdown), AdaptersReportMarkdown.Render($"{spec.Name} {spec.Version}", report));
        AtomicOutput.WriteAllText(Path.Combine(outputDirectory, StageLayout.Adapters.Report), SpecFile.Serialize(report));
        CompilerOutput.Progress($"adapters: {report.Adapters.Count} adapters on the {report.Base} base");
        return 0;
    }
}
