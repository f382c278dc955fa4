using static Afm.Onnx.Tests.Parity;
using Afm.Core.Spec;
using Afm.Onnx.Export;
using TorchSharp;

namespace Afm.Onnx.Tests;

/// <summary>The exported graph, run by stock ONNX Runtime, gives the TorchSharp model's logits (fp32, max abs diff 1e-3).</summary>
public sealed class DecoderParityTests
{

    public static TheoryData<string> Variants => ["tied+qknorm+gqa", "untied", "no-qknorm", "mha", "large-rope-base", "generalized", "generalized-tied"];

    private static ArchitectureSpec Variant(string name) => name switch
    {
        "untied" => MicroDecoder.Architecture(tied: false),
        "no-qknorm" => MicroDecoder.Architecture(qkNorm: false),
        "mha" => MicroDecoder.Architecture(kvHeads: 4),
        "large-rope-base" => MicroDecoder.Architecture(ropeBase: 6_315_089),
        "generalized" => MicroDecoder.Generalized(),
        "generalized-tied" => MicroDecoder.Generalized(tied: true),
        _ => MicroDecoder.Architecture(),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Prefill_logits_match_the_torch_model_on_random_prompts(string variant)
    {
        var architecture = Variant(variant);
        using var model = MicroDecoder.Create(architecture);
        using var ort = Ort(model);
        var random = new Random(11);
        foreach (int length in new[] { 1, 5, 23 })
        {
            int batch = 2;
            var ids = RandomIds(random, batch * length, architecture.VocabSize);
            var (logits, _) = ort.Run(ids, batch, ort.Empty(batch));
            AssertClose(TorchLogits(model, ids, batch), logits);
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Decode_steps_with_the_kv_cache_match_the_full_sequence_in_torch(string variant)
    {
        var architecture = Variant(variant);
        using var model = MicroDecoder.Create(architecture);
        using var ort = Ort(model);
        var random = new Random(5);
        int batch = 2, prompt = 7, steps = 6;
        var sequence = RandomIds(random, batch * (prompt + steps), architecture.VocabSize);
        var (_, cache) = ort.Run(Columns(sequence, batch, 0, prompt), batch, ort.Empty(batch));
        for (int step = 0; step < steps; step++)
        {
            int position = prompt + step;
            var (logits, next) = ort.Run(Columns(sequence, batch, position, 1), batch, cache);
            cache = next;
            var reference = TorchLogits(model, Columns(sequence, batch, 0, position + 1), batch);
            AssertClose(LastPosition(reference, batch, position + 1, architecture.VocabSize), logits);
        }
        Assert.Equal(prompt + steps, cache.Length);
    }

    [Fact]
    public void Export_of_the_same_model_is_byte_identical()
    {
        using var model = MicroDecoder.Create(MicroDecoder.Architecture());
        var first = DecoderExporter.Export(MicroDecoder.ToExport(model), "test");
        var second = DecoderExporter.Export(MicroDecoder.ToExport(model), "test");
        Assert.Equal(first, second);
    }

    [Fact]
    public void A_weight_in_a_form_the_exporter_cannot_lower_is_refused()
    {
        using var model = MicroDecoder.Create(MicroDecoder.Architecture());
        var export = MicroDecoder.ToExport(model);
        var weights = new Dictionary<string, ExportWeight>(export.Weights) { ["layers.0.mlp.up_proj.weight"] = new OpaqueWeight([48, 32]) };
        var error = Assert.Throws<NotSupportedException>(() => DecoderExporter.Export(export with { Weights = weights }, "test"));
        Assert.Contains("layers.0.mlp.up_proj.weight", error.Message);
    }

    private sealed record OpaqueWeight(long[] Shape) : ExportWeight(Shape);

    private static OrtDecoder Ort(Afm.Training.Model.AfmDecoder model)
    {
        var arch = model.Architecture;
        return new OrtDecoder(DecoderExporter.Export(MicroDecoder.ToExport(model), "test"), arch);
    }

    private static long[] RandomIds(Random random, int count, int vocab) =>
        Enumerable.Range(0, count).Select(_ => (long)random.Next(vocab)).ToArray();
}
