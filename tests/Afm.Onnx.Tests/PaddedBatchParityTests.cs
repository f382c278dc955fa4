using static Afm.Onnx.Tests.Parity;
using Afm.Onnx.Export;

namespace Afm.Onnx.Tests;

/// <summary>
/// Sequences of different lengths share one run through the key-padding mask: every real position of a padded batch
/// gets the logits the TorchSharp model gives that sequence alone (max abs diff 1e-3), in prefill and in the decode steps
/// that follow, with the padding left of a prompt, right of it (the runtime's layout: padding between a row's cache and
/// its new token) or absent.
/// </summary>
public sealed class PaddedBatchParityTests
{
    private const long Pad = 0;
    private static readonly int[] Lengths = [9, 4, 6];

    public enum Padding { Left, Right }

    [Theory]
    [InlineData(Padding.Left)]
    [InlineData(Padding.Right)]
    public void A_padded_batch_gives_each_sequence_the_logits_it_has_alone(Padding side)
    {
        var architecture = MicroDecoder.Architecture();
        using var model = MicroDecoder.Create(architecture);
        using var ort = new OrtDecoder(DecoderExporter.Export(MicroDecoder.ToExport(model), "test"), architecture);
        var random = new Random(3);
        int batch = Lengths.Length, width = Lengths.Max(), steps = 4, vocab = architecture.VocabSize;
        var sequences = Lengths.Select(n => Enumerable.Range(0, n + steps).Select(_ => (long)random.Next(1, vocab)).ToArray()).ToArray();

        // Prefill: each prompt padded to the longest, on the chosen side.
        var ids = new long[batch * width];
        var mask = new List<long>[batch];
        for (int b = 0; b < batch; b++)
        {
            int pad = width - Lengths[b], offset = side == Padding.Left ? pad : 0;
            for (int i = 0; i < width; i++) ids[b * width + i] = i >= offset && i < offset + Lengths[b] ? sequences[b][i - offset] : Pad;
            mask[b] = Enumerable.Range(0, width).Select(i => i >= offset && i < offset + Lengths[b] ? 1L : 0L).ToList();
        }
        var (logits, cache) = ort.Run(ids, batch, ort.Empty(batch), mask: mask.SelectMany(m => m).ToArray());
        for (int b = 0; b < batch; b++)
        {
            int offset = side == Padding.Left ? width - Lengths[b] : 0;
            var alone = TorchLogits(model, sequences[b][..Lengths[b]], 1);
            var rows = logits.Skip((b * width + offset) * vocab).Take(Lengths[b] * vocab).ToArray();
            AssertClose(alone, rows);
        }

        // Decode: one new token per row per run, appended after the padded cache.
        for (int step = 0; step < steps; step++)
        {
            var next = Enumerable.Range(0, batch).Select(b => sequences[b][Lengths[b] + step]).ToArray();
            foreach (var m in mask) m.Add(1);
            (logits, cache) = ort.Run(next, batch, cache, mask: mask.SelectMany(m => m).ToArray());
            for (int b = 0; b < batch; b++)
            {
                int length = Lengths[b] + step + 1;
                var alone = TorchLogits(model, sequences[b][..length], 1);
                AssertClose(LastPosition(alone, 1, length, vocab), logits.Skip(b * vocab).Take(vocab).ToArray());
            }
        }
    }

    [Fact]
    public void Without_a_mask_the_graph_computes_exactly_what_an_all_ones_mask_gives()
    {
        var architecture = MicroDecoder.Architecture();
        using var model = MicroDecoder.Create(architecture);
        using var ort = new OrtDecoder(DecoderExporter.Export(MicroDecoder.ToExport(model), "test"), architecture);
        var random = new Random(8);
        int batch = 2, prompt = 5;
        var ids = Enumerable.Range(0, batch * prompt).Select(_ => (long)random.Next(architecture.VocabSize)).ToArray();
        var (implicitLogits, implicitCache) = ort.Run(ids, batch, ort.Empty(batch));
        var (explicitLogits, explicitCache) = ort.Run(ids, batch, ort.Empty(batch), mask: Enumerable.Repeat(1L, batch * prompt).ToArray());
        Assert.Equal(implicitLogits, explicitLogits);

        long[] step = [3, 4];
        Assert.Equal(ort.Run(step, batch, implicitCache).Logits, ort.Run(step, batch, explicitCache, mask: Enumerable.Repeat(1L, batch * (prompt + 1)).ToArray()).Logits);
    }
}
