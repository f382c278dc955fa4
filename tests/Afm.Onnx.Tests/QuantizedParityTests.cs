using static Afm.Onnx.Tests.Parity;
using System.Globalization;
using Afm.Compression.Calibration;
using Afm.Compression.Storage;
using Afm.Core.Spec;
using Afm.Onnx.Export;
using Afm.Training.Model;
using TorchSharp;

namespace Afm.Onnx.Tests;

/// <summary>
/// A graph exported from a quantized weights file (palettized, uniform and int8 weights stored compressed in the
/// graph) gives the logits of the TorchSharp model loaded with the same weights dequantized (fp32, max abs diff 1e-3),
/// on random prompts, for prefill and for decode steps, whether ONNX Runtime expands the weights at load or every run.
/// </summary>
public sealed class QuantizedParityTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-onnx-tests", Guid.NewGuid().ToString("N")[..12]);

    public static TheoryData<bool, Expansion> Variants => new()
    {
        { true, Expansion.AtLoad }, { true, Expansion.OnTheFly }, { false, Expansion.AtLoad }, { false, Expansion.OnTheFly },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Quantized_graph_logits_match_the_torch_model_with_the_dequantized_weights(bool tied, Expansion expansion) =>
        AssertParity(MicroDecoder.Architecture(tied: tied), expansion);

    /// <summary>Biases stay float32 beside the compressed matrices; per-layer shapes and an explicit head width are quantized alike.</summary>
    [Theory]
    [InlineData(Expansion.AtLoad)]
    [InlineData(Expansion.OnTheFly)]
    public void A_generalized_decoder_quantizes_and_exports_with_its_biases_in_float(Expansion expansion)
    {
        var architecture = MicroDecoder.Generalized();
        AssertParity(architecture, expansion);
        var graph = Proto.ModelProto.Parser.ParseFrom(DecoderExporter.Export(QuantizedSafeTensorsWeights.Load(architecture, Quantize(architecture)), "test")).Graph;
        var bias = Assert.Single(graph.Initializer, t => t.Name == "layers.2.attn.k_proj.bias");
        Assert.Equal((int)Proto.TensorProto.Types.DataType.Float, bias.DataType);
        Assert.Equal([2L * 12], bias.Dims);
    }

    /// <summary>
    /// Uniform layers in the MatMulNBits layout and palettes of zero-point tables run as MatMulNBits over their resident
    /// bytes, and the int8 embedding as
    /// GatherBlockQuantized over a uint8 table (and, tied, the head as two 4-bit MatMulNBits over its nibbles, as every 8-bit
    /// weight runs), with the same logits.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Layers_in_the_nbits_layout_run_as_MatMulNBits_with_the_torch_model_logits(bool tied)
    {
        var architecture = MicroDecoder.Architecture(tied: tied);
        AssertParity(architecture, Expansion.AtLoad, nbits: true);
        var graph = Proto.ModelProto.Parser.ParseFrom(DecoderExporter.Export(QuantizedSafeTensorsWeights.Load(architecture, Quantize(architecture, directory, nbits: true)), "test")).Graph;
        // q, k (palettes), v and up (uniform, 4 and 2 bits) of every layer, gate (8 bits) as two 4-bit halves, and the output
        // projection's two halves when it is the int8 embedding (tied).
        Assert.Equal(6 * architecture.Layers + (tied ? 2 : 0), graph.Node.Count(n => n.OpType == "MatMulNBits" && n.Domain == "com.microsoft"));
        // ORT 1.31 runs 8-bit MatMulNBits ~500x slower than 4-bit at accuracy_level 0: no node is one.
        Assert.DoesNotContain(graph.Node, n => n.OpType == "MatMulNBits" && n.Attribute.Single(a => a.Name == "bits").I == 8);
        Assert.Single(graph.Node, n => n.OpType == "GatherBlockQuantized" && n.Domain == "com.microsoft");
        Assert.DoesNotContain(graph.Node, n => n.Output.Contains("layers.0.mlp.up_proj.weight") || n.Output.Contains("layers.0.attn.q_proj.weight")
            || n.Output.Contains("embed.weight"));
    }

    /// <summary>
    /// The quantization report's runtime form of each weight (Afm.Compression's RuntimeForms, decided from the stored arrays) is
    /// what the exporter emits, and its resident bytes are those of the weight's MatMulNBits/GatherBlockQuantized initializers.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_reported_runtime_form_of_every_weight_is_the_one_the_exported_graph_runs(bool tied)
    {
        var architecture = MicroDecoder.Architecture(tied: tied);
        var path = Quantize(architecture, directory, nbits: true);
        var forms = RuntimeForms.Of(QuantizedWeightsFile.Read(path).Weights, tied);
        var graph = Proto.ModelProto.Parser.ParseFrom(DecoderExporter.Export(QuantizedSafeTensorsWeights.Load(architecture, path), "test")).Graph;
        foreach (var (name, residency) in forms)
        {
            string nbits = DecoderNames.Contrib.NBitsWeight(name);
            string highNibbles = DecoderNames.Contrib.NBitsWeight(DecoderNames.Contrib.HighNibbles(name));
            var reads = graph.Node.Where(n => n.Input.Contains(nbits) || n.Input.Contains(highNibbles)).Select(n => n.OpType).ToHashSet();
            string expected = reads.Contains("GatherBlockQuantized") ? RuntimeForms.GatherBlockQuantized
                : reads.Contains("MatMulNBits") ? RuntimeForms.MatMulNBits
                : graph.Initializer.Any(t => t.Name == name && t.DataType == (int)Proto.TensorProto.Types.DataType.Float) ? RuntimeForms.Float
                : RuntimeForms.Expand;
            Assert.True(expected == residency.Form, $"{name}: reported {residency.Form}, the graph runs {expected}");
            if (expected is RuntimeForms.MatMulNBits or RuntimeForms.GatherBlockQuantized)
                Assert.Equal(graph.Initializer.Where(t => t.Name.StartsWith(name + ".nbits", StringComparison.Ordinal) || t.Name.StartsWith(name + ".gather", StringComparison.Ordinal)
                    || t.Name.StartsWith(DecoderNames.Contrib.HighNibbles(name) + ".", StringComparison.Ordinal)
                    || t.Name.StartsWith(DecoderNames.Contrib.LowNibbles(name) + ".", StringComparison.Ordinal))
                    .Sum(t => (long)t.RawData.Length + 4L * t.FloatData.Count), residency.Bytes);
        }
        Assert.Contains(forms.Values, f => f.Form == RuntimeForms.Expand);
    }

    /// <summary>
    /// With int8 activations (RuntimeActivations="int8") every MatMulNBits runs at accuracy_level 4, the tied head is one 8-bit
    /// node over the lookup's own uint8 table (no nibble copies), and the logits stay within the documented tolerance of the
    /// TorchSharp model's (3% of the largest logit), in prefill and decode.
    /// </summary>
    [Fact]
    public void Int8_activations_run_every_MatMulNBits_at_accuracy_level_4_within_the_documented_tolerance()
    {
        var architecture = MicroDecoder.Architecture(tied: true);
        var worst = AssertParity(architecture, Expansion.AtLoad, nbits: true, RuntimeActivations.Int8);
        var model = QuantizedSafeTensorsWeights.Load(architecture, Quantize(architecture, directory, nbits: true)) with { NBitsActivations = RuntimeActivations.Int8 };
        var graph = Proto.ModelProto.Parser.ParseFrom(DecoderExporter.Export(model, "test")).Graph;
        var nodes = graph.Node.Where(n => n.OpType == "MatMulNBits").ToList();
        // q, k, v, gate (now one 8-bit node), up of every layer, and the head.
        Assert.Equal(5 * architecture.Layers + 1, nodes.Count);
        Assert.All(nodes, n => Assert.Equal(4, n.Attribute.Single(a => a.Name == "accuracy_level").I));
        var head = Assert.Single(nodes, n => n.Input[1] == DecoderNames.Contrib.NBitsWeight("embed.weight"));
        Assert.Equal(8, head.Attribute.Single(a => a.Name == "bits").I);
        Assert.DoesNotContain(graph.Initializer, t => t.Name.Contains("nibbles", StringComparison.Ordinal));
        // Not exact: the products see rounded activations (a float32-activation graph is within 1e-3).
        Assert.True(worst > Tolerance, $"int8 activations moved the logits by only {worst}");
    }

    /// <returns>The largest absolute logit difference seen.</returns>
    private float AssertParity(ArchitectureSpec architecture, Expansion expansion, bool nbits = false, RuntimeActivations activations = RuntimeActivations.Float32)
    {
        var path = Quantize(architecture, directory, nbits);
        using var model = MicroDecoder.Create(architecture);
        ModelWeights.Load(model, QuantizedWeightsFile.Dequantize(path));
        model.RopeBase = 250_000; // as training's context-lengthening stage leaves it; the file records it

        var export = QuantizedSafeTensorsWeights.Load(architecture, path) with { NBitsActivations = activations };
        Assert.Equal(250_000.0, export.RopeBase);
        using var options = OrtWeightExpansion.Options(expansion);
        using var ort = new OrtDecoder(DecoderExporter.Export(export, "test"), architecture, options);

        var random = new Random(17);
        int batch = 2, prompt = 9, steps = 5;
        var sequence = Enumerable.Range(0, batch * (prompt + steps)).Select(_ => (long)random.Next(architecture.VocabSize)).ToArray();
        float worst = 0;
        void Check(float[] expected, float[] actual)
        {
            float tolerance = activations == RuntimeActivations.Int8 ? Int8ActivationsRelativeTolerance * expected.Max(Math.Abs) : Tolerance;
            AssertClose(expected, actual, tolerance);
            worst = Math.Max(worst, MaxDiff(expected, actual));
        }
        var (prefill, cache) = ort.Run(Columns(sequence, batch, 0, prompt), batch, ort.Empty(batch));
        Check(TorchLogits(model, Columns(sequence, batch, 0, prompt), batch), prefill);
        for (int step = 0; step < steps; step++)
        {
            int position = prompt + step;
            var (logits, next) = ort.Run(Columns(sequence, batch, position, 1), batch, cache);
            cache = next;
            var reference = TorchLogits(model, Columns(sequence, batch, 0, position + 1), batch);
            Check(LastPosition(reference, batch, position + 1, architecture.VocabSize), logits);
        }
        return worst;
    }

    [Fact]
    public void The_quantized_graph_holds_the_weights_as_compactly_as_the_weights_file()
    {
        var architecture = MicroDecoder.Architecture();
        var path = Quantize(architecture);
        var stored = QuantizedWeightsFile.Read(path).Weights;
        var graph = Proto.ModelProto.Parser.ParseFrom(DecoderExporter.Export(QuantizedSafeTensorsWeights.Load(architecture, path), "test")).Graph;

        long weightBytes = graph.Initializer.Where(t => stored.Any(w => t.Name == w.Name || t.Name.StartsWith(w.Name + ".", StringComparison.Ordinal)))
            .Sum(t => (long)t.RawData.Length);
        // Packed indices are padded to whole rows of 8 indices (at most bits - 1 < 8 bytes per weight); nothing else is added.
        long fileBytes = stored.Sum(w => w.StorageBytes);
        Assert.InRange(weightBytes, fileBytes, fileBytes + 8 * stored.Count);
        Assert.DoesNotContain(graph.Initializer, t => t.DataType == (int)Proto.TensorProto.Types.DataType.Float && t.Name == "layers.0.mlp.up_proj.weight");
    }

    [Fact]
    public void Export_of_the_same_quantized_weights_is_byte_identical()
    {
        var architecture = MicroDecoder.Architecture();
        var path = Quantize(architecture);
        var first = DecoderExporter.Export(QuantizedSafeTensorsWeights.Load(architecture, path), "test");
        var second = DecoderExporter.Export(QuantizedSafeTensorsWeights.Load(architecture, path), "test");
        Assert.Equal(first, second);
    }

    /// <summary>
    /// Every form of the storage convention on one model: int8 embedding, palettized 4/2/3-bit with fp16 and int8
    /// LUTs (the micro model's 32-48 rows in groups of 16, so several LUTs per weight), a uniform layer, a float layer.
    /// </summary>
    private string Quantize(ArchitectureSpec architecture) => Quantize(architecture, directory);

    /// <inheritdoc cref="Quantize(ArchitectureSpec)"/>
    /// <param name="nbits">v_proj, gate_proj and up_proj in the MatMulNBits layout at 4, 8 and 2 bits, q_proj and k_proj
    /// palettes of zero-point tables at 4 and 2 bits instead.</param>
    internal static string Quantize(ArchitectureSpec architecture, string directory, bool nbits = false)
    {
        Directory.CreateDirectory(directory);
        using var trained = MicroDecoder.Create(architecture);
        var tensors = new List<QuantizedTensor>();
        foreach (var (name, shape, values) in ModelWeights.Read(trained))
        {
            string form = name switch
            {
                _ when shape.Length == 1 => "float",
                "embed.weight" => "int8-per-channel",
                _ when nbits && name.Contains("v_proj", StringComparison.Ordinal) => "nbits-4",
                _ when nbits && name.Contains("gate_proj", StringComparison.Ordinal) => "nbits-8",
                _ when nbits && name.Contains("up_proj", StringComparison.Ordinal) => "nbits-2",
                _ when nbits && name.Contains("q_proj", StringComparison.Ordinal) => "zp-palette-4",
                _ when nbits && name.Contains("k_proj", StringComparison.Ordinal) => "zp-palette-2",
                "lm_head.weight" => "palettize-int8-lut-4",
                _ when name.Contains("q_proj", StringComparison.Ordinal) => "palettize-2",
                _ when name.Contains("k_proj", StringComparison.Ordinal) => "palettize-int8-lut-3",
                _ when name.Contains("v_proj", StringComparison.Ordinal) => "uniform-4",
                "layers.1.mlp.down_proj.weight" => "float",
                _ => "palettize-4",
            };
            tensors.Add(form == "float" ? new FloatTensor(name, shape, values) : CompressedWeightExpansionTests.Quantize(form, name, shape, values));
        }
        var path = Path.Combine(directory, "quantized.safetensors");
        QuantizedWeightsFile.Write(path, tensors, new Dictionary<string, string>
        {
            ["rope_base"] = 250_000.0.ToString("R", CultureInfo.InvariantCulture), ["rope_style"] = "rotate_half",
        });
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
