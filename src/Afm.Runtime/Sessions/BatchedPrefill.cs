using Afm.Core.Spec;
using Afm.Onnx.Export;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Runtime.Sessions;

/// <summary>
/// Several token sequences in one ONNX Runtime run, each after the same prefix (the cache of one sequence, or none), with
/// the logits of every position of every row: what scoring many continuations of one context needs (the evaluate stage's
/// multiple-choice tasks). Rows are padded on the right to the longest; the graph's <c>attention_mask</c> hides the
/// padding and gives each token its own position (specs/onnx-export.md, "Batches of different lengths"), so a row's
/// real positions see only the prefix and the row's own earlier tokens. The prefix is copied into every row of the batch
/// cache; nothing of the run's cache is kept.
/// </summary>
public static class BatchedPrefill
{
    /// <summary>
    /// Whether <paramref name="session"/> can run padded batches of several tokens per row: a standard graph with the
    /// mask. A fused graph's GroupQueryAttention takes several new tokens per row only as a first prompt, so it is not
    /// offered here; callers run such rows one by one.
    /// </summary>
    public static bool IsSupported(DecoderSession session) => session.SupportsBatching && session.Ops == OnnxOps.Standard;

    /// <summary>
    /// Runs each of <paramref name="rows"/> after <paramref name="prefix"/> (or from the start) with <paramref name="adapter"/>
    /// active, if any; returns per row the logits of each of its positions, row after row ([length x vocabulary]).
    /// The prefix cache is read, not extended.
    /// </summary>
    public static float[][] Run(DecoderSession session, IReadOnlyList<long[]> rows, KvCache? prefix, OrtLoraAdapter? adapter)
    {
        if (!IsSupported(session))
            throw new NotSupportedException("Batched prefill needs a standard graph with the attention_mask input.");
        ArgumentOutOfRangeException.ThrowIfZero(rows.Count);
        if (rows.Any(r => r.Length == 0)) throw new ArgumentException("Every row needs at least one token.", nameof(rows));
        int batch = rows.Count, width = rows.Max(r => r.Length), past = prefix?.Length ?? 0, vocabulary = session.VocabSize;
        if (past + width > session.MaxSequenceLength)
            throw new ArgumentException($"{past + width} positions exceed the model's context of {session.MaxSequenceLength}.");

        var ids = new long[batch * width];
        var mask = new long[batch * (past + width)];
        for (int b = 0; b < batch; b++)
        {
            rows[b].CopyTo(ids, b * width);
            mask.AsSpan(b * (past + width), past + rows[b].Length).Fill(1);
        }
        var names = new List<string>(2 + 2 * session.Layers) { DecoderNames.InputIds, DecoderNames.AttentionMask };
        var values = new List<OrtValue>(2 + 2 * session.Layers);
        try
        {
            values.Add(OrtValue.CreateTensorValueFromMemory(ids, [batch, width]));
            values.Add(OrtValue.CreateTensorValueFromMemory(mask, [batch, past + width]));
            for (int layer = 0; layer < session.Layers; layer++)
            {
                int rowSize = session.LayerKvHeads[layer] * past * session.HeadDim;
                foreach (bool key in (bool[])[true, false])
                {
                    // A standard graph's cache is exactly [1, kvHeads, Length, headDim]: each batch row is a copy of it.
                    var cache = new float[batch * rowSize];
                    if (prefix is not null)
                    {
                        var source = (key ? prefix.Keys[layer] : prefix.Values[layer]).GetTensorDataAsSpan<float>()[..rowSize];
                        for (int b = 0; b < batch; b++) source.CopyTo(cache.AsSpan(b * rowSize, rowSize));
                    }
                    names.Add(key ? DecoderNames.PastKey(layer) : DecoderNames.PastValue(layer));
                    values.Add(OrtValue.CreateTensorValueFromMemory(cache, [batch, session.LayerKvHeads[layer], past, session.HeadDim]));
                }
            }
            using var outputs = session.RunBatch(names, values, adapter);
            var logits = outputs[0].GetTensorDataAsSpan<float>();
            var result = new float[batch][];
            for (int b = 0; b < batch; b++) result[b] = logits.Slice(b * width * vocabulary, rows[b].Length * vocabulary).ToArray();
            return result;
        }
        finally
        {
            foreach (var value in values) value.Dispose();
        }
    }
}
