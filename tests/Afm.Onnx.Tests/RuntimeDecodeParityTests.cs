using static Afm.Onnx.Tests.Parity;
using Afm.Core.Spec;
using Afm.Compression.Calibration;
using Afm.Compression.Storage;
using Afm.Onnx.Export;
using Afm.Runtime.Batching;
using Afm.Runtime.Sessions;

namespace Afm.Onnx.Tests;

/// <summary>
/// TorchSharp, the exported graph and Afm.Runtime's decode agree on the generalized decoder (q/k/v biases, a head width
/// that is not ModelDim / Heads, per-layer query heads, key/value heads and FFN widths, an untied head), with float and with
/// quantized weights: the session's KV-cached steps of one sequence, and batched steps of sequences of different lengths,
/// whose padded caches have each layer's own number of key/value heads (fp32, max abs diff 1e-3); with the standard graph
/// and with the fused one, whose cache is a preallocated buffer the session binds as both past and present (head width 16:
/// GroupQueryAttention rotates itself).
/// </summary>
public sealed class RuntimeDecodeParityTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-onnx-tests", Guid.NewGuid().ToString("N")[..12]);
    private static readonly long[][] Prompts = [[5, 17, 3, 44, 9, 60, 2], [31, 8, 12]];
    private const int Steps = 4;

    [Theory]
    [InlineData(false, OnnxOps.Standard)]
    [InlineData(true, OnnxOps.Standard)]
    [InlineData(false, OnnxOps.Fused)]
    [InlineData(true, OnnxOps.Fused)]
    public async Task Cached_and_batched_decode_match_the_torch_model(bool quantized, OnnxOps ops)
    {
        var architecture = ops == OnnxOps.Fused ? MicroDecoder.Generalized() with { ExplicitHeadDim = 16 } : MicroDecoder.Generalized();
        using var model = MicroDecoder.Create(architecture);
        DecoderModel export;
        if (quantized)
        {
            var path = QuantizedParityTests.Quantize(architecture, directory);
            ModelWeights.Load(model, QuantizedWeightsFile.Dequantize(path));
            model.RopeBase = 250_000; // the file records it
            export = QuantizedSafeTensorsWeights.Load(architecture, path);
        }
        else
        {
            Directory.CreateDirectory(directory);
            export = MicroDecoder.ToExport(model);
        }
        var graphPath = Path.Combine(directory, "model.onnx");
        File.WriteAllBytes(graphPath, DecoderExporter.Export(export with { Ops = ops }, "test"));
        using var session = new DecoderSession(graphPath, new RuntimeOptions());
        Assert.Equal([1, 4, 2], session.LayerKvHeads);
        Assert.Equal(ops, session.Ops);

        // Each prompt's continuation is fixed (not sampled), so every step has one torch reference.
        var sequences = Prompts.Select((p, i) => p.Concat(Enumerable.Range(0, Steps).Select(s => (long)((7 * i + 11 * s) % architecture.VocabSize))).ToArray()).ToArray();
        float[] Torch(long[] sequence, int length) =>
            LastPosition(TorchLogits(model, sequence[..length], 1), 1, length, architecture.VocabSize);

        // One sequence at a time through the session's cache.
        foreach (var (prompt, sequence) in Prompts.Zip(sequences))
        {
            using var cache = session.NewCache();
            AssertClose(Torch(sequence, prompt.Length), session.Forward(prompt, cache));
            for (int step = 0; step < Steps; step++)
                AssertClose(Torch(sequence, prompt.Length + step + 1), session.Forward([sequence[prompt.Length + step]], cache));
        }

        // Both sequences in one run per step, their caches padded to the longer one.
        using var batcher = new DecodeBatcher(session, new BatchingOptions { MaxBatchSize = 2, MaxWait = TimeSpan.FromMinutes(1) });
        var members = Prompts.Select(prompt =>
        {
            using var cache = session.NewCache();
            session.Forward(prompt, cache);
            return batcher.Join(SequenceCache.From(cache, session, prompt.Length + Steps), null, null);
        }).ToArray();
        for (int step = 0; step < Steps; step++)
        {
            var logits = await Task.WhenAll(members.Select((m, i) => m.StepAsync(sequences[i][Prompts[i].Length + step])));
            for (int i = 0; i < members.Length; i++) AssertClose(Torch(sequences[i], Prompts[i].Length + step + 1), logits[i]);
        }
        Assert.Equal(Steps, batcher.Runs);
        foreach (var member in members) member.Dispose();
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
