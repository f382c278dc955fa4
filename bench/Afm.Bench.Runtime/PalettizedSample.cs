using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Afm.Compression;
using Afm.Compression.Storage;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Onnx.Export;

namespace Afm.Bench.Runtime;

/// <summary>
/// The sample's float and palettized model.onnx, side by side. The sample's artifact holds only the palettized graph,
/// so this exports the float one from the trained weights and runs the real quantize stage (Afm.Compression's pipeline)
/// in process on the sample's build outputs
/// (obj/Debug/afm: spec, data shards, trained weights) with the plan of the design card — 4 bits, 2-bit layers
/// chosen by the allocator for 3.7 bits per weight, LUTs per 16 channels, int8 embedding — and exports both graphs
/// exactly as `afm export` does.
/// </summary>
internal static class PalettizedSample
{
    public sealed record Graphs(string FloatOnnx, string PalettizedOnnx, double BitsPerWeight, double QuantizeSeconds);

    public static Graphs Build(string intermediateDirectory, string outputDirectory)
    {
        var spec = JsonSerializer.Deserialize<ModelSpec>(File.ReadAllText(Path.Combine(intermediateDirectory, "spec", "spec.json")), SpecJson)!;
        spec = spec with { Quantization = DesignCardPlan };
        Directory.CreateDirectory(outputDirectory);
        string floatWeights = Path.Combine(intermediateDirectory, "train", "model.safetensors");
        string dataDirectory = Path.Combine(intermediateDirectory, "data");

        var clock = Stopwatch.StartNew();
        var lastStage = spec.TrainingStages[^1].Name;
        using var calibration = PackedSequences.Open(dataDirectory, lastStage, DataSplit.Train);
        using var validation = PackedSequences.Open(dataDirectory, lastStage, DataSplit.Validation);
        // Few validation sequences: the bench measures memory and speed; the quantize stage's report measures quality.
        var result = QuantizationPipeline.Run(new QuantizationInputs(spec, floatWeights, calibration, validation, ValidationSequences: 16));
        var quantized = Path.Combine(outputDirectory, "quantized.safetensors");
        QuantizedWeightsFile.Write(quantized, result.Weights, result.Metadata);
        double quantizeSeconds = clock.Elapsed.TotalSeconds;

        var floatOnnx = Path.Combine(outputDirectory, "float.onnx");
        var palettizedOnnx = Path.Combine(outputDirectory, "palettized.onnx");
        File.WriteAllBytes(floatOnnx, DecoderExporter.Export(SafeTensorsWeights.Load(spec.Architecture, floatWeights), "bench"));
        File.WriteAllBytes(palettizedOnnx, DecoderExporter.Export(QuantizedSafeTensorsWeights.Load(spec.Architecture, quantized), "bench"));
        return new Graphs(floatOnnx, palettizedOnnx, result.Report.Totals.BitsPerWeight, quantizeSeconds);
    }

    private static readonly QuantizationPlanSpec DesignCardPlan = new()
    {
        Name = "device", Method = QuantizationMethod.Palettize, Bits = 4, LowBits = 2, GroupSize = 16, LutType = LutType.Fp16,
        Embedding = EmbeddingFormat.Int8PerChannel, Importance = ImportanceKind.Fisher, TargetBitsPerWeight = 3.7,
        Overrides = [], KeepFloat = [], CalibrationSequences = 8, KMeansIterations = 30,
    };

    /// <summary>spec.json's serializer settings (Afm.Cli's SpecFile; the bench does not reference the compiler executable).</summary>
    private static readonly JsonSerializerOptions SpecJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
