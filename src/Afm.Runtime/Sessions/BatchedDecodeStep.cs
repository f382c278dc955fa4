using Afm.Onnx.Export;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Runtime.Sessions;

/// <summary>
/// One decode step of several sequences in one ONNX Runtime run. Each row's cache is copied into a batch cache padded on
/// the right to the longest row, and the new token goes after the padding; the graph's <c>attention_mask</c> hides the
/// padding and gives each token its own position (specs/onnx-export.md, "Batches of different lengths"). Only the new
/// column of each row's present key/value is taken back. The graph itself concatenates the whole cache on every run, so
/// the extra copy in keeps the step's memory traffic within a small factor of the unbatched one.
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

        var mask = new long[batch * (width + 1)];
        for (int b = 0; b < batch; b++)
        {
            mask.AsSpan(b * (width + 1), rows[b].Length).Fill(1);
            mask[b * (width + 1) + width] = 1;
        }
        var names = new List<string>(3 + 2 * layers) { DecoderNames.InputIds, DecoderNames.AttentionMask };
        var values = new List<OrtValue>(3 + 2 * layers);
        try
        {
            values.Add(OrtValue.CreateTensorValueFromMemory(tokens.ToArray(), [batch, 1]));
            values.Add(OrtValue.CreateTensorValueFromMemory(mask, [batch, width + 1]));
            for (int layer = 0; layer < layers; layer++)
            {
                int kvHeads = session.LayerKvHeads[layer], rowSize = kvHeads * width * session.HeadDim;
                foreach (bool key in (bool[])[true, false])
                {
                    var cache = new float[batch * rowSize];
                    for (int b = 0; b < batch; b++) rows[b].CopyRow(layer, key, cache.AsSpan(b * rowSize, rowSize), width);
                    names.Add(key ? DecoderNames.PastKey(layer) : DecoderNames.PastValue(layer));
                    values.Add(OrtValue.CreateTensorValueFromMemory(cache, [batch, kvHeads, width, session.HeadDim]));
                }
            }

            using var outputs = session.RunBatch(names, values, adapter);
            var logits = outputs[0].GetTensorDataAsSpan<float>();
            var result = new float[batch][];
            for (int b = 0; b < batch; b++) result[b] = logits.Slice(b * session.VocabSize, session.VocabSize).ToArray();
            for (int layer = 0; layer < layers; layer++)
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
        finally
        {
            foreach (var value in values) value.Dispose();
        }
    }
}
