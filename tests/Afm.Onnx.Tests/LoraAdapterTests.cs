using static Afm.Onnx.Tests.Parity;
using Afm.Onnx.Adapters;
using Afm.Onnx.Export;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Onnx.Tests;

/// <summary>
/// The base graph's optional LoRA inputs and ONNX Runtime adapter files: with no adapter the graph is the base model;
/// with an adapter active (OrtLoraAdapter + RunOptions.AddActiveLoraAdapter) it is the model with W + B A merged.
/// </summary>
public sealed class LoraAdapterTests
{
    private const string BaseSha = "00aa11bb22cc33dd44ee55ff66778899aabbccddeeff00112233445566778899";

    private static DecoderModel Base(out Afm.Training.Model.AfmDecoder torchModel)
    {
        torchModel = MicroDecoder.Create(MicroDecoder.Architecture());
        return MicroDecoder.ToExport(torchModel) with { BaseSha256 = BaseSha };
    }

    private static OrtDecoder Ort(DecoderModel model) =>
        new(DecoderExporter.Export(model, "test"), model.Architecture);

    private static byte[] AdapterFile(DecoderModel model, Dictionary<string, (long[] Shape, float[] Values)> tensors, int rank)
    {
        var baseGraph = ExportedBase.FromModel(DecoderExporter.Export(model, "test"));
        return AdapterCompiler.Compile(MicroAdapter.Trained("summarize", BaseSha, rank, tensors), baseGraph).File;
    }

    private static readonly long[] Prompt = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 32, 38, 4, 6, 2];

    [Fact]
    public void With_no_adapter_the_graph_with_lora_inputs_gives_the_base_logits()
    {
        var model = Base(out var torchModel);
        using (torchModel)
        {
            using var withLora = Ort(model);
            using var without = Ort(model with { LoraInputs = false });
            var (expected, _) = without.Run(Prompt, 2, without.Empty(2));
            var (actual, _) = withLora.Run(Prompt, 2, withLora.Empty(2));
            Assert.Equal(expected, actual); // exactly: the LoRA term of rank 0 adds nothing
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    public void With_an_adapter_active_logits_match_the_graph_with_merged_weights(int rank)
    {
        var model = Base(out var torchModel);
        using (torchModel)
        {
            var tensors = MicroAdapter.Random(model, rank, seed: rank);
            using var adapter = OrtLoraAdapter.Create(AdapterFile(model, tensors, rank), null);
            using var ort = Ort(model);
            using var merged = Ort(MicroAdapter.Merge(model, tensors) with { LoraInputs = false });

            var (prefill, cache) = ort.Run(Prompt, 2, ort.Empty(2), adapter);
            var (expected, mergedCache) = merged.Run(Prompt, 2, merged.Empty(2));
            AssertClose(expected, prefill);
            // Decode steps through the cache keep the adapter's effect.
            var (step, _) = ort.Run([11, 12], 2, cache, adapter);
            var (expectedStep, _) = merged.Run([11, 12], 2, mergedCache);
            AssertClose(expectedStep, step);

            var (baseLogits, _) = ort.Run(Prompt, 2, ort.Empty(2));
            Assert.True(MaxDiff(baseLogits, prefill) > 10 * Tolerance, "the adapter must change the logits for this test to mean anything");
        }
    }

    [Fact]
    public void An_adapter_of_some_projections_only_leaves_the_others_at_the_base()
    {
        var model = Base(out var torchModel);
        using (torchModel)
        {
            var tensors = MicroAdapter.Random(model, 4, seed: 3, only: w => w.Contains("q_proj") || w.Contains("v_proj"));
            using var adapter = OrtLoraAdapter.Create(AdapterFile(model, tensors, 4), null);
            using var ort = Ort(model);
            using var merged = Ort(MicroAdapter.Merge(model, tensors) with { LoraInputs = false });
            AssertClose(merged.Run(Prompt, 2, merged.Empty(2)).Logits, ort.Run(Prompt, 2, ort.Empty(2), adapter).Logits);
        }
    }

    [Fact]
    public void One_session_switches_adapters_per_call()
    {
        var model = Base(out var torchModel);
        using (torchModel)
        {
            var first = MicroAdapter.Random(model, 4, seed: 1);
            var second = MicroAdapter.Random(model, 8, seed: 2);
            using var a1 = OrtLoraAdapter.Create(AdapterFile(model, first, 4), null);
            using var a2 = OrtLoraAdapter.Create(AdapterFile(model, second, 8), null);
            using var ort = Ort(model);
            using var merged1 = Ort(MicroAdapter.Merge(model, first) with { LoraInputs = false });
            using var merged2 = Ort(MicroAdapter.Merge(model, second) with { LoraInputs = false });
            using var plain = Ort(model with { LoraInputs = false });
            AssertClose(merged2.Run(Prompt, 2, merged2.Empty(2)).Logits, ort.Run(Prompt, 2, ort.Empty(2), a2).Logits);
            AssertClose(plain.Run(Prompt, 2, plain.Empty(2)).Logits, ort.Run(Prompt, 2, ort.Empty(2)).Logits);
            AssertClose(merged1.Run(Prompt, 2, merged1.Empty(2)).Logits, ort.Run(Prompt, 2, ort.Empty(2), a1).Logits);
        }
    }
}
