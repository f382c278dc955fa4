using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;
using Afm.Onnx.Export;
using Afm.Onnx.Graph;
using Microsoft.ML.OnnxRuntime;
using DataType = Afm.Onnx.Proto.TensorProto.Types.DataType;

namespace Afm.Onnx.Tests;

/// <summary>
/// A compressed weight written by Afm.Compression, read back by the exporter and expanded by ONNX Runtime, equals
/// <see cref="QuantizedWeightsFile.Dequantize"/> bit for bit, whether ORT expands it at load or in every run.
/// </summary>
public sealed class CompressedWeightExpansionTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-onnx-tests", Guid.NewGuid().ToString("N")[..12]);

    // 37 rows x 13 columns: the last LUT group is smaller than the others and the index count is not a multiple of 8.
    private static readonly long[] Shape = [37, 13];

    public static TheoryData<string, Expansion> Forms()
    {
        var forms = new TheoryData<string, Expansion>();
        string[] names = ["palettize-1", "palettize-2", "palettize-3", "palettize-4", "palettize-5", "palettize-6", "palettize-7", "palettize-8",
            "palettize-int8-lut-4", "palettize-int8-lut-3", "uniform-3", "uniform-4", "int8-per-channel"];
        foreach (var name in names)
            foreach (var expansion in new[] { Expansion.AtLoad, Expansion.OnTheFly })
                forms.Add(name, expansion);
        return forms;
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public void The_expanded_weight_equals_the_dequantized_weights_file_bit_for_bit(string form, Expansion expansion)
    {
        var values = RandomValues(Shape, seed: form.Sum(c => (int)c));
        var path = WriteFile(Quantize(form, "layer.weight", Shape, values));
        var expected = QuantizedWeightsFile.Dequantize(path)["layer.weight"].Values;

        var export = QuantizedSafeTensorsWeights.Load(MicroDecoder.Architecture(), path);
        Assert.IsNotType<FloatWeight>(export.Weights["layer.weight"]);
        var actual = Expand(export.Weights["layer.weight"], expansion);

        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"element {i}: expected {expected[i]:R}, ONNX Runtime gave {actual[i]:R}");
    }

    [Fact]
    public void Expanding_at_load_leaves_only_float_weights_in_the_optimized_graph()
    {
        var path = WriteFile(Quantize("palettize-4", "layer.weight", Shape, RandomValues(Shape, 3)));
        var weight = QuantizedSafeTensorsWeights.Load(MicroDecoder.Architecture(), path).Weights["layer.weight"];
        var optimized = Path.Combine(directory, "optimized.onnx");
        using var options = OrtWeightExpansion.Options(Expansion.AtLoad);
        options.OptimizedModelFilePath = optimized;
        using (new InferenceSession(GraphOf(weight), options)) { }

        var graph = Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph;
        Assert.DoesNotContain(graph.Node, n => n.OpType is "Gather" or "Mod" or "Cast");
        Assert.Contains(graph.Initializer, t => t.DataType == (int)DataType.Float && t.Dims.SequenceEqual(Shape));
    }

    internal static QuantizedTensor Quantize(string form, string name, long[] shape, float[] values)
    {
        var parts = form.Split('-');
        int bits = int.TryParse(parts[^1], out var b) ? b : 8;
        return form switch
        {
            "int8-per-channel" => Int8ChannelQuantizer.Quantize(name, shape, values),
            // The MatMulNBits layout: blocks of 16 along each row, integer zero points (RuntimeForm="nbits").
            _ when form.StartsWith("nbits", StringComparison.Ordinal) => UniformQuantizer.QuantizeWithZeroPoints(name, shape, values, bits, blockSize: 16),
            // A palette of zero-point tables (RuntimeForm="nbits" with Method="palettize"): MatMulNBits runs it too.
            _ when form.StartsWith("zp-palette", StringComparison.Ordinal) => Palettizer.Palettize(name, shape, values, null, bits, groupSize: 8, LutType.Fp16,
                seed: 5, maxIterations: 10, zeroPointTables: true),
            _ when form.StartsWith("uniform", StringComparison.Ordinal) => UniformQuantizer.Quantize(name, shape, values, bits, blockSize: 29),
            _ => Palettizer.Palettize(name, shape, values, null, bits, groupSize: 8,
                form.Contains("int8-lut", StringComparison.Ordinal) ? LutType.Int8 : LutType.Fp16, seed: 5, maxIterations: 10),
        };
    }

    internal static float[] RandomValues(long[] shape, int seed)
    {
        var random = new Random(seed);
        var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1) * 0.2f;
        return values;
    }

    private string WriteFile(QuantizedTensor tensor)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "quantized.safetensors");
        QuantizedWeightsFile.Write(path, [tensor]);
        return path;
    }

    /// <summary>A graph whose only output is the expanded weight.</summary>
    private static byte[] GraphOf(ExportWeight weight)
    {
        var graph = new OnnxGraphBuilder();
        var value = WeightLowering.Emit(graph, "layer.weight", weight);
        graph.Output(value, "expanded", DataType.Float, weight.Shape.Cast<object>().ToArray());
        return OrtWeightExpansion.Model(graph.Build("expansion"));
    }

    private static float[] Expand(ExportWeight weight, Expansion expansion)
    {
        using var options = OrtWeightExpansion.Options(expansion);
        using var session = new InferenceSession(GraphOf(weight), options);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, Array.Empty<string>(), Array.Empty<OrtValue>(), ["expanded"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
