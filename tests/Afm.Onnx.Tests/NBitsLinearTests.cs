using Afm.Core.Spec;
using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Onnx.Export;
using Afm.Onnx.Graph;
using Microsoft.ML.OnnxRuntime;
using DataType = Afm.Onnx.Proto.TensorProto.Types.DataType;

namespace Afm.Onnx.Tests;

/// <summary>
/// A uniform weight in the MatMulNBits layout, and a palette of zero-point tables (quantized by Afm.Compression, written to
/// and read back from the weights file), run in ONNX Runtime's own com.microsoft.MatMulNBits kernel as exactly the weight
/// <see cref="QuantizedWeightsFile.Dequantize"/> gives: x = identity yields the dequantized weight bit for bit, and a random x
/// yields x W^T within float32 accumulation error.
/// </summary>
public sealed class NBitsLinearTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-onnx-tests", Guid.NewGuid().ToString("N")[..12]);

    public static TheoryData<int, int, int, int> Layouts => new()
    {
        // bits, N (out), K (in), block: 37 rows and an odd number of blocks per row (odd zero-point packing), and blocks of 16 to 128.
        { 4, 37, 48, 16 }, { 2, 37, 48, 16 }, { 8, 37, 48, 16 }, { 4, 21, 96, 32 }, { 2, 9, 192, 64 }, { 8, 5, 384, 128 }, { 4, 3, 640, 128 },
    };

    public static TheoryData<int, int, int, int> Palettes => new()
    {
        // bits, N (out), K (in), rows per table: a last group of fewer rows, and blocks of 16 (K 48), 32 (K 96), 128 (K 384, 640), 256 (K 768).
        { 4, 37, 48, 16 }, { 2, 37, 96, 8 }, { 8, 5, 384, 4 }, { 4, 21, 640, 16 }, { 2, 3, 384, 1 }, { 4, 6, 768, 4 }, { 2, 5, 768, 2 },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void MatMulNBits_over_the_stored_bytes_reproduces_the_dequantized_weight_bit_for_bit(int bits, int n, int k, int block) =>
        AssertIdentityReproduces(Stored(bits, n, k, block), n, k);

    [Theory]
    [MemberData(nameof(Palettes))]
    public void MatMulNBits_over_a_zero_point_palette_reproduces_the_dequantized_weight_bit_for_bit(int bits, int n, int k, int groupSize) =>
        AssertIdentityReproduces(StoredPalette(bits, n, k, groupSize), n, k);

    [Theory]
    [MemberData(nameof(Palettes))]
    public void MatMulNBits_over_a_zero_point_palette_of_an_input_equals_the_input_times_the_dequantized_weight(int bits, int n, int k, int groupSize) =>
        AssertProduct(StoredPalette(bits, n, k, groupSize), n, k, bits);

    [Theory]
    [InlineData(37, 48)]
    [InlineData(9, 768)]
    public void The_tied_head_over_the_int8_embeddings_nibbles_reproduces_its_dequantized_rows_bit_for_bit(int vocab, int dim)
    {
        var values = CompressedWeightExpansionTests.RandomValues([vocab, dim], seed: vocab + dim);
        var stored = Int8ChannelQuantizer.Quantize("embed.weight", [vocab, dim], values);
        var path = Write(stored);
        var weight = Assert.IsType<Int8ChannelWeight>(QuantizedSafeTensorsWeights.Load(MicroDecoder.Architecture(), path).Weights["embed.weight"]);
        var expected = QuantizedWeightsFile.Dequantize(path)["embed.weight"].Values;
        // Every stored value, including both ends of int8 (the nibbles' extremes), appears.
        Assert.Contains(weight.Values, v => v == 127 || v == -127);

        var graph = new OnnxGraphBuilder();
        var input = graph.Input("x", DataType.Float, (long)dim, (long)dim);
        var table = ResidentEmbedding.Emit(graph, "embed.weight", weight);
        graph.Output(ResidentEmbedding.Head(graph, input, "embed.weight", table, RuntimeActivations.Float32), "y", DataType.Float, (long)dim, (long)vocab);
        var identity = new float[dim * dim];
        for (int i = 0; i < dim; i++) identity[i * dim + i] = 1;
        var actual = Run(graph, "x", identity, [dim, dim]); // [dim, vocab] = E^T
        Assert.All(graph.Build("head").Node.Where(n => n.OpType == "MatMulNBits"), n => Assert.Equal(4, n.Attribute.Single(a => a.Name == "bits").I));
        for (int row = 0; row < vocab; row++)
            for (int col = 0; col < dim; col++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[row * dim + col]) == BitConverter.SingleToInt32Bits(actual[col * vocab + row]),
                    $"e[{row},{col}]: dequantized {expected[row * dim + col]:R}, head {actual[col * vocab + row]:R}");
    }

    [Fact]
    public void A_k_means_palette_is_not_mapped()
    {
        var values = CompressedWeightExpansionTests.RandomValues([8, 32], seed: 6);
        var path = Write(Palettizer.Palettize("layer.weight", [8, 32], values, null, 4, 4, Afm.Core.Spec.LutType.Fp16, seed: 1, maxIterations: 30));
        Assert.Null(NBitsLinear.Of(QuantizedSafeTensorsWeights.Load(MicroDecoder.Architecture(), path).Weights["layer.weight"]));
    }

    private static void AssertIdentityReproduces((ExportWeight Weight, float[] Dequantized) stored, int n, int k)
    {
        var (weight, expected) = stored;
        var identity = new float[k * k];
        for (int i = 0; i < k; i++) identity[i * k + i] = 1;

        var actual = Run(weight, identity, k); // [K, N] = W^T
        for (int row = 0; row < n; row++)
            for (int col = 0; col < k; col++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[row * k + col]) == BitConverter.SingleToInt32Bits(actual[col * n + row]),
                    $"w[{row},{col}]: dequantized {expected[row * k + col]:R}, MatMulNBits {actual[col * n + row]:R}");
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void MatMulNBits_of_an_input_equals_the_input_times_the_dequantized_weight(int bits, int n, int k, int block) =>
        AssertProduct(Stored(bits, n, k, block), n, k, bits);

    private static void AssertProduct((ExportWeight Weight, float[] Dequantized) stored, int n, int k, int bits)
    {
        var (weight, w) = stored;
        const int rows = 3;
        var x = CompressedWeightExpansionTests.RandomValues([rows, k], seed: bits * 31 + k);
        var actual = Run(weight, x, rows);
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < n; o++)
            {
                double sum = 0, magnitude = 0;
                for (int i = 0; i < k; i++) { sum += (double)x[r * k + i] * w[o * k + i]; magnitude += Math.Abs((double)x[r * k + i] * w[o * k + i]); }
                // float32 accumulation in any order: within K ulps of the sum of magnitudes.
                Assert.True(Math.Abs(actual[r * n + o] - sum) <= k * magnitude * 6e-8 + 1e-9, $"y[{r},{o}] = {actual[r * n + o]:R}, expected {sum:R}");
            }
    }

    [Fact]
    public void A_uniform_weight_whose_blocks_cross_rows_is_not_mapped()
    {
        var values = CompressedWeightExpansionTests.RandomValues([8, 48], seed: 2);
        var path = Write(UniformQuantizer.Quantize("layer.weight", [8, 48], values, 4, blockSize: 96));
        Assert.Null(NBitsLinear.Of(QuantizedSafeTensorsWeights.Load(MicroDecoder.Architecture(), path).Weights["layer.weight"]));
    }

    [Fact]
    public void A_uniform_weight_with_a_fractional_zero_point_is_not_mapped()
    {
        var values = CompressedWeightExpansionTests.RandomValues([8, 32], seed: 4);
        // Offsets at the block minimum: -offset/scale is almost never an integer.
        var path = Write(UniformQuantizer.Quantize("layer.weight", [8, 32], values, 4, blockSize: 16));
        Assert.Null(NBitsLinear.Of(QuantizedSafeTensorsWeights.Load(MicroDecoder.Architecture(), path).Weights["layer.weight"]));
    }

    private (ExportWeight Weight, float[] Dequantized) StoredPalette(int bits, int n, int k, int groupSize)
    {
        var values = CompressedWeightExpansionTests.RandomValues([n, k], seed: bits * 1000 + k + groupSize);
        var palette = Palettizer.Palettize("layer.weight", [n, k], values, null, bits, groupSize, Afm.Core.Spec.LutType.Fp16, seed: 1, maxIterations: 30,
            zeroPointTables: true);
        var path = Write(palette);
        var weight = Assert.IsType<PalettizedWeight>(QuantizedSafeTensorsWeights.Load(MicroDecoder.Architecture(), path).Weights["layer.weight"]);
        return (weight, QuantizedWeightsFile.Dequantize(path)["layer.weight"].Values);
    }

    private (ExportWeight Weight, float[] Dequantized) Stored(int bits, int n, int k, int block)
    {
        var values = CompressedWeightExpansionTests.RandomValues([n, k], seed: bits * 1000 + k);
        var path = Write(UniformQuantizer.QuantizeWithZeroPoints("layer.weight", [n, k], values, bits, block));
        var weight = Assert.IsType<UniformWeight>(QuantizedSafeTensorsWeights.Load(MicroDecoder.Architecture(), path).Weights["layer.weight"]);
        return (weight, QuantizedWeightsFile.Dequantize(path)["layer.weight"].Values);
    }

    private static float[] Run(ExportWeight weight, float[] x, int rows)
    {
        var graph = new OnnxGraphBuilder();
        var input = graph.Input("x", DataType.Float, (long)rows, weight.Columns);
        var layout = NBitsLinear.Of(weight) ?? throw new InvalidOperationException("The layout does not map onto MatMulNBits.");
        graph.Output(NBitsLinear.Emit(graph, input, "layer.weight", weight, layout, null, RuntimeActivations.Float32), "y", DataType.Float, (long)rows, weight.Rows);
        return Run(graph, input, x, [rows, weight.Columns]);
    }

    private static float[] Run(OnnxGraphBuilder graph, string input, float[] x, long[] shape)
    {
        var model = new Proto.ModelProto { IrVersion = DecoderExporter.IrVersion, Graph = graph.Build("nbits") };
        model.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = "", Version = DecoderExporter.Opset });
        model.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = DecoderNames.Contrib.Domain, Version = DecoderNames.Contrib.Opset });
        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(model));
        using var value = OrtValue.CreateTensorValueFromMemory(x, shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [input], [value], ["y"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private string Write(QuantizedTensor tensor)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, Guid.NewGuid().ToString("N")[..8] + ".safetensors");
        QuantizedWeightsFile.Write(path, [tensor]);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
