using Afm.Core.Spec;
using Afm.Onnx.Export;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Runtime.Sessions;

/// <summary>
/// One decode step of several sequences in one ONNX Runtime run. Each row's cache is copied into a batch cache padded on
/// the right to the longest row; the graph's <c>attention_mask</c> hides the padding and gives each token its own position
/// (specs/onnx-export.md, "Batches of different lengths"). A standard graph takes the new token after the padding and
/// returns the whole cache concatenated with it; a fused graph (GroupQueryAttention) takes it right after the row's own
/// tokens and writes it into the batch cache in place, which is bound as both past and present. Only the new column of
/// each row is taken back.
/// </summary>
internal static class BatchedDecodeStep
{
    /// <summary>Runs <paramref name="tokens"/>[b] after <paramref name="rows"/>[b] (with <paramref name="adapter"/> active, if any); appends to each cache and returns each row's logits.</summary>
    /// <remarks>Only <see cref="Batching.DecodeBatcher"/> calls it, and its constructor refuses a session without the attention_mask input.</remarks>
    public static float[][] Run(DecoderSession session, IReadOnlyList<SequenceCache> rows, IReadOnlyList<long> tokens, OrtLoraAdapter? adapter)
    {
        int batch = rows.Count, width = rows.Max(r => r.Length), layers = session.Layers;
        if (width + 1 > session.MaxSequenceLength)
            throw new ArgumentException($"{width + 1} positions exceed the model's context of {session.MaxSequenceLength}.");
        bool inPlace = session.Ops == OnnxOps.Fused;
        // The column of each row's new token: after the padding (standard) or after the row's own tokens (fused: right padding only).
        int Column(int b) => inPlace ? rows[b].Length : width;
        // A fused graph's cache must hold the new column; a standard graph's past holds only the earlier ones.
        int pastWidth = inPlace ? width + 1 : width;

        var mask = new long[batch * (width + 1)];
        for (int b = 0; b < batch; b++)
        {
            mask.AsSpan(b * (width + 1), rows[b].Length).Fill(1);
            mask[b * (width + 1) + Column(b)] = 1;
        }
        var names = new List<string>(3 + 2 * layers) { DecoderNames.InputIds, DecoderNames.AttentionMask };
        var values = new List<OrtValue>(3 + 2 * layers);
        var caches = new List<float[]>(2 * layers);
        try
        {
            values.Add(OrtValue.CreateTensorValueFromMemory(tokens.ToArray(), [batch, 1]));
            values.Add(OrtValue.CreateTensorValueFromMemory(mask, [batch, width + 1]));
            for (int layer = 0; layer < layers; layer++)
            {
                int kvHeads = session.LayerKvHeads[layer], rowSize = kvHeads * pastWidth * session.HeadDim;
                foreach (bool key in (bool[])[true, false])
                {
                    var cache = new float[batch * rowSize];
                    for (int b = 0; b < batch; b++) rows[b].CopyRow(layer, key, cache.AsSpan(b * rowSize, rowSize), pastWidth);
                    names.Add(key ? DecoderNames.PastKey(layer) : DecoderNames.PastValue(layer));
                    values.Add(OrtValue.CreateTensorValueFromMemory(cache, [batch, kvHeads, pastWidth, session.HeadDim]));
                    caches.Add(cache);
                }
            }
            return inPlace ? RunInPlace(session, rows, values, names, caches, adapter, Column) : RunConcatenating(session, rows, values, names, adapter);
        }
        finally
        {
            foreach (var value in values) value.Dispose();
        }
    }

    private static float[][] RunConcatenating(DecoderSession session, IReadOnlyList<SequenceCache> rows, List<OrtValue> values, List<string> names, OrtLoraAdapter? adapter)
    {
        int batch = rows.Count, width = rows.Max(r => r.Length);
        using var outputs = session.RunBatch(names, values, adapter);
        var result = Rows(outputs[0].GetTensorDataAsSpan<float>(), batch, session.VocabSize);
        for (int layer = 0; layer < session.Layers; layer++)
        {
            int presentRow = session.LayerKvHeads[layer] * (width + 1) * session.HeadDim;
            var presentKey = outputs[1 + 2 * layer].GetTensorDataAsSpan<float>();
            var presentValue = outputs[2 + 2 * layer].GetTensorDataAsSpan<float>();
            for (int b = 0; b < batch; b++)
            {
                rows[b].AppendColumn(layer, key: true, presentKey.Slice(b * presentRow, presentRow), width + 1, width);
                rows[b].AppendColumn(layer, key: false, presentValue.Slice(b * presentRow, presentRow), width + 1, width);
            }
        }
        foreach (var row in rows) row.Advance();
        return result;
    }

    private static float[][] RunInPlace(DecoderSession session, IReadOnlyList<SequenceCache> rows, List<OrtValue> values, List<string> names,
        List<float[]> caches, OrtLoraAdapter? adapter, Func<int, int> column)
    {
        int batch = rows.Count, width = rows.Max(r => r.Length) + 1;
        var logits = new float[batch * session.VocabSize];
        using var logitsValue = OrtValue.CreateTensorValueFromMemory(logits, [batch, 1, session.VocabSize]);
        session.RunInto(names, values, [logitsValue, .. values.Skip(2)], adapter);
        for (int layer = 0; layer < session.Layers; layer++)
        {
            int row = session.LayerKvHeads[layer] * width * session.HeadDim;
            for (int b = 0; b < batch; b++)
            {
                rows[b].AppendColumn(layer, key: true, caches[2 * layer].AsSpan(b * row, row), width, column(b));
                rows[b].AppendColumn(layer, key: false, caches[2 * layer + 1].AsSpan(b * row, row), width, column(b));
            }
        }
        foreach (var r in rows) r.Advance();
        return Rows(logits, batch, session.VocabSize);
    }

    private static float[][] Rows(ReadOnlySpan<float> logits, int batch, int vocab)
    {
        var result = new float[batch][];
        for (int b = 0; b < batch; b++) result[b] = logits.Slice(b * vocab, vocab).ToArray();
        return result;
    }
}
