using System.Diagnostics;
using Afm.Onnx.Adapters;
using Afm.Onnx.Export;
using Afm.Runtime.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Bench.Runtime;

/// <summary>
/// What the optional LoRA inputs cost: decode tokens/s of the artifact's weights exported without them, with them and
/// no adapter, and with a rank-16 adapter active (random values; speed does not depend on them), in one run.
/// </summary>
internal static class LoraBench
{
    public sealed record Result(double WithoutInputs, double NoAdapter, double Rank16Adapter, int Tokens, string Weights);

    public static Result Run(string artifactDirectory, int tokens, int threads)
    {
        var architecture = DecodeBench.ReadArchitecture(Path.Combine(artifactDirectory, "spec.json"));
        // A quantized project's deploy artifact holds only the quantized weights (specs/artifact.md): the three graphs are
        // then all built from those, compressed as the artifact's own graph is; the comparison stays side by side.
        var floatPath = Path.Combine(artifactDirectory, "model", "model.safetensors");
        var quantizedPath = Path.Combine(artifactDirectory, "model", "quantized.safetensors");
        var weights = File.Exists(floatPath) ? SafeTensorsWeights.Load(architecture, floatPath)
            : File.Exists(quantizedPath) ? QuantizedSafeTensorsWeights.Load(architecture, quantizedPath)
            : throw new InvalidDataException($"{artifactDirectory} has neither model/model.safetensors nor model/quantized.safetensors to export from.");
        var model = weights with { BaseSha256 = new string('0', 64) };
        var folder = Directory.CreateTempSubdirectory("afm-lora-bench").FullName;
        try
        {
            var withInputs = Write(folder, "lora.onnx", DecoderExporter.Export(model, "bench"));
            var without = Write(folder, "plain.onnx", DecoderExporter.Export(model with { LoraInputs = false }, "bench"));
            var random = new Random(1);
            var tensors = new Dictionary<string, (long[] Shape, float[] Values)>(StringComparer.Ordinal);
            foreach (var weight in DecoderNames.AdaptableWeights(architecture.Layers))
            {
                var shape = model.Weights[weight].Shape;
                tensors[DecoderNames.LoraA(weight)] = ([16, shape[1]], Values(random, 16 * shape[1]));
                tensors[DecoderNames.LoraB(weight)] = ([shape[0], 16], Values(random, shape[0] * 16));
            }
            var file = AdapterCompiler.Compile(new TrainedAdapter("bench", "feature", 16, "1", model.BaseSha256!, tensors),
                ExportedBase.FromModel(File.ReadAllBytes(withInputs))).File;
            using var adapter = OrtLoraAdapter.Create(file, null);
            var options = new RuntimeOptions { IntraOpThreads = threads };
            double Best(string path, OrtLoraAdapter? active)
            {
                using var session = new DecoderSession(path, options);
                return Enumerable.Range(0, 3).Max(_ => Decode(session, active, tokens));
            }
            return new Result(Best(without, null), Best(withInputs, null), Best(withInputs, adapter), tokens, File.Exists(floatPath) ? "float" : "quantized");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    internal static double Decode(DecoderSession session, OrtLoraAdapter? adapter, int tokens)
    {
        using var cache = session.NewCache();
        session.Forward([0, 1, 2, 3], cache, adapter);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < tokens; i++) session.Forward([(i * 7 + 5) % session.VocabSize], cache, adapter);
        return tokens / clock.Elapsed.TotalSeconds;
    }

    private static string Write(string folder, string name, byte[] bytes)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static float[] Values(Random random, long count) =>
        Enumerable.Range(0, (int)count).Select(_ => (float)(random.NextDouble() * 2 - 1) * 0.05f).ToArray();
}
