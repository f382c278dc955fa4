using static Afm.Onnx.Tests.Parity;
using Afm.Core.Spec;
using Afm.Onnx.Export;

namespace Afm.Onnx.Tests;

/// <summary>
/// The fused graph (<see cref="OnnxOps.Fused"/>: ONNX Runtime's GroupQueryAttention and SkipSimplifiedLayerNormalization)
/// gives the TorchSharp model's logits within 1e-3, in prefill and in decode steps, for every switch it supports: RoPE
/// inside GroupQueryAttention (head width a multiple of 16) or in the graph before it (a multiple of 8 only), QK-norm on
/// and off, key/value heads fewer than or equal to query heads, q/k/v biases and per-layer head counts. Here the cache is
/// passed as past/present of growing length; the runtime's tests cover the preallocated buffer bound to both.
/// </summary>
public sealed class FusedDecoderParityTests
{
    public static TheoryData<string> Variants => ["gqa-rope-in-graph", "gqa-rotary-inside", "no-qknorm", "mha", "generalized", "generalized-rope-in-graph"];

    private static ArchitectureSpec Variant(string name) => name switch
    {
        "gqa-rotary-inside" => MicroDecoder.Architecture() with { ModelDim = 64 },
        "no-qknorm" => MicroDecoder.Architecture(qkNorm: false) with { ModelDim = 64 },
        "mha" => MicroDecoder.Architecture(kvHeads: 4),
        "generalized" => MicroDecoder.Generalized() with { ExplicitHeadDim = 16 },
        "generalized-rope-in-graph" => MicroDecoder.Generalized(tied: true) with { ExplicitHeadDim = 8 },
        _ => MicroDecoder.Architecture(),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Prefill_and_decode_logits_match_the_torch_model(string variant)
    {
        var architecture = Variant(variant);
        using var model = MicroDecoder.Create(architecture);
        using var ort = new OrtDecoder(Export(model, OnnxOps.Fused), architecture);
        var random = new Random(5);
        int batch = 2, prompt = 7, steps = 5;
        var sequence = RandomIds(random, batch * (prompt + steps), architecture.VocabSize);
        var (logits, cache) = ort.Run(Columns(sequence, batch, 0, prompt), batch, ort.Empty(batch), mask: Ones(batch, prompt));
        AssertClose(TorchLogits(model, Columns(sequence, batch, 0, prompt), batch), logits);
        for (int step = 0; step < steps; step++)
        {
            int position = prompt + step;
            (logits, cache) = ort.Run(Columns(sequence, batch, position, 1), batch, cache, mask: Ones(batch, position + 1));
            var reference = TorchLogits(model, Columns(sequence, batch, 0, position + 1), batch);
            AssertClose(LastPosition(reference, batch, position + 1, architecture.VocabSize), logits);
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void The_fused_graph_gives_the_standard_graphs_logits(string variant)
    {
        var architecture = Variant(variant);
        using var model = MicroDecoder.Create(architecture);
        using var standard = new OrtDecoder(Export(model, OnnxOps.Standard), architecture);
        using var fused = new OrtDecoder(Export(model, OnnxOps.Fused), architecture);
        var ids = RandomIds(new Random(9), 2 * 11, architecture.VocabSize);
        AssertClose(standard.Run(ids, 2, standard.Empty(2)).Logits, fused.Run(ids, 2, fused.Empty(2), mask: Ones(2, 11)).Logits);
    }

    /// <summary>GroupQueryAttention's layout for a batch of different lengths: each row's tokens first, padding on the right, and a decode step's token right after the row's own tokens.</summary>
    [Fact]
    public void A_right_padded_batch_gives_each_sequence_the_logits_it_has_alone()
    {
        var architecture = Variant("gqa-rotary-inside");
        using var model = MicroDecoder.Create(architecture);
        using var ort = new OrtDecoder(Export(model, OnnxOps.Fused), architecture);
        int[] lengths = [9, 4, 6];
        int batch = lengths.Length, width = lengths.Max(), steps = 3, vocab = architecture.VocabSize;
        var random = new Random(3);
        var sequences = lengths.Select(n => RandomIds(random, n + steps, vocab)).ToArray();
        var ids = new long[batch * width];
        for (int b = 0; b < batch; b++) sequences[b].AsSpan(0, lengths[b]).CopyTo(ids.AsSpan(b * width));
        var (logits, cache) = ort.Run(ids, batch, ort.Empty(batch), mask: RightPadded(lengths, width));
        for (int b = 0; b < batch; b++)
            AssertClose(TorchLogits(model, sequences[b][..lengths[b]], 1), logits.Skip(b * width * vocab).Take(lengths[b] * vocab).ToArray());

        for (int step = 0; step < steps; step++)
        {
            var next = Enumerable.Range(0, batch).Select(b => sequences[b][lengths[b] + step]).ToArray();
            var real = lengths.Select(n => n + step + 1).ToArray();
            (logits, cache) = ort.Run(next, batch, cache, mask: RightPadded(real, cache.Length + 1));
            for (int b = 0; b < batch; b++)
            {
                var alone = TorchLogits(model, sequences[b][..real[b]], 1);
                AssertClose(LastPosition(alone, 1, real[b], vocab), logits.Skip(b * vocab).Take(vocab).ToArray());
            }
        }
    }

    [Fact]
    public void A_head_width_GroupQueryAttention_cannot_run_is_refused_at_export()
    {
        using var model = MicroDecoder.Create(MicroDecoder.Generalized());
        var error = Assert.Throws<ArgumentException>(() => Export(model, OnnxOps.Fused));
        Assert.Contains("multiple of 8", error.Message);
    }

    [Fact]
    public void The_graph_says_which_operators_it_uses()
    {
        using var model = MicroDecoder.Create(MicroDecoder.Architecture());
        foreach (var ops in new[] { OnnxOps.Standard, OnnxOps.Fused })
        {
            var proto = Afm.Onnx.Proto.ModelProto.Parser.ParseFrom(Export(model, ops));
            Assert.Equal(ops.Name(), proto.MetadataProps.Single(p => p.Key == DecoderNames.Metadata.OnnxOps).Value);
            Assert.Equal(ops == OnnxOps.Fused, proto.Graph.Node.Any(n => n.OpType == "GroupQueryAttention"));
        }
    }

    internal static byte[] Export(Afm.Training.Model.AfmDecoder model, OnnxOps ops) =>
        DecoderExporter.Export(MicroDecoder.ToExport(model) with { Ops = ops }, "test");

    private static long[] Ones(int batch, int length) => Enumerable.Repeat(1L, batch * length).ToArray();

    private static long[] RightPadded(int[] real, int width) =>
        real.SelectMany(n => Enumerable.Range(0, width).Select(i => i < n ? 1L : 0L)).ToArray();

    private static long[] RandomIds(Random random, int count, int vocab) =>
        Enumerable.Range(0, count).Select(_ => (long)random.Next(1, vocab)).ToArray();
}
