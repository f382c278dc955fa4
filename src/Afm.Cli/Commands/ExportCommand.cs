using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Cli.Packaging;
using Afm.Core.IO;
using Afm.Onnx.Export;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm export</c>: the trained float weights -> <c>&lt;out&gt;/model.onnx</c>, the decoder graph with KV cache
/// (specs/onnx-export.md). Reads the safetensors file directly: no libtorch is needed to write the graph.
/// </summary>
internal static class ExportCommand
{
    public const string ModelFile = "model.onnx";

    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var train = StageOptions.Train();
        var output = StageOptions.Out("Export folder: model.onnx.");
        var command = new Command("export", "Export the trained model to an ONNX graph with KV cache.") { spec, train, output };
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            var model = SpecFile.Load(result.GetValue(spec)!);
            var weights = SafeTensorsWeights.Load(model.Architecture, Path.Combine(result.GetValue(train)!, "model.safetensors"));
            var bytes = DecoderExporter.Export(weights, ArtifactBuilder.ToolchainVersion());
            var path = Path.Combine(result.GetValue(output)!, ModelFile);
            AtomicOutput.WriteFile(path, stream => stream.Write(bytes));
            CompilerOutput.Progress($"export: {Path.GetFullPath(path)} ({bytes.Length:N0} bytes, ONNX opset {DecoderExporter.Opset})");
            return 0;
        }));
        return command;
    }
}
