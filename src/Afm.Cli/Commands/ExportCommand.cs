using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Packaging;
using Afm.Core.Artifacts;
using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Onnx.Export;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm export</c>: the trained float weights -> <c>&lt;out&gt;/model.onnx</c>, the decoder graph with KV cache
/// (specs/onnx-export.md). With <c>--quantize</c> (a QuantizationPlan) the graph is built from the quantized weights,
/// stored compressed and expanded by standard ops. Reads the safetensors files directly: no libtorch is needed.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var train = StageOptions.Train();
        var quantize = new Option<string?>("--quantize") { Description = "The quantize folder written by `afm quantize`; optional (absent: the float weights are exported)." };
        var output = StageOptions.Out("Export folder: model.onnx.");
        var command = new Command("export", "Export the trained model to an ONNX graph with KV cache.") { spec, train, quantize, output };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            var model = SpecFile.Load(result.GetValue(spec)!);
            var quantizedPath = result.GetValue(quantize) is { Length: > 0 } quantized ? Path.Combine(quantized, StageLayout.Quantize.Weights) : null;
            var weightsPath = quantizedPath ?? Path.Combine(result.GetValue(train)!, StageLayout.Train.Weights);
            var weights = quantizedPath is not null
                ? QuantizedSafeTensorsWeights.Load(model.Architecture, weightsPath)
                : SafeTensorsWeights.Load(model.Architecture, weightsPath);
            // The graph records which weights file it was exported from: adapters are checked against that hash.
            weights = weights with { BaseSha256 = Hashing.Sha256OfFile(weightsPath), Ops = model.OnnxOps };
            var path = Path.Combine(result.GetValue(output)!, StageLayout.Export.Model);
            var written = DecoderExporter.Export(weights, ArtifactBuilder.ToolchainVersion(), path);
            CompilerOutput.Progress($"export: {Path.GetFullPath(path)} ({written.ModelBytes:N0} bytes" +
                (written.DataBytes > 0 ? $" + {written.DataBytes:N0} bytes of external data in {StageLayout.Export.Model}{OnnxModelFile.DataSuffix}" : "") +
                $", ONNX opset {DecoderExporter.Opset}, {model.OnnxOps.Name()} ops, {Describe(weights)})");
            return 0;
        }));
        return command;
    }

    private static string Describe(DecoderModel weights)
    {
        var compressed = weights.Weights.Values.Count(w => w is not FloatWeight);
        return compressed == 0 ? "float weights" : $"{compressed} of {weights.Weights.Count} weights compressed";
    }
}
