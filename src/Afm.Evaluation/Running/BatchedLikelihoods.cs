using Afm.Runtime.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Evaluation.Running;

/// <summary>
/// Log-likelihoods of many (context, continuation) pairs, each within the context length, in few ONNX Runtime runs:
/// consecutive pairs that share their context (a question's choices) are one group; the group's common tokens run once
/// (one run, its last logits predict each continuation's first token), then every member's remaining tokens run after
/// that cache in one padded run (<see cref="BatchedPrefill"/>, at most <see cref="TokensPerRun"/> tokens per run).
/// Chosen over padding whole pairs side by side by measurement: that recomputes the context for every choice, and with
/// 10-shot contexts on the sample it took 2-3x the time of this (src/Afm.Evaluation/README.md).
/// </summary>
internal static class BatchedLikelihoods
{
    /// <summary>Tokens (rows x the longest row) of one run.</summary>
    internal const int TokensPerRun = 2048;

    /// <summary>ln P(ids[first..] | ids[..first]) of each pair, in nats.</summary>
    public static double[] Score(DecoderSession session, OrtLoraAdapter? adapter, IReadOnlyList<(long[] Ids, int First)> pairs)
    {
        var result = new double[pairs.Count];
        int vocabulary = session.VocabSize;
        int i = 0;
        while (i < pairs.Count)
        {
            // A group: consecutive pairs whose tokens agree up to each one's continuation (a question's choices).
            int shared = pairs[i].First, end = i + 1;
            while (end < pairs.Count)
            {
                int common = Common(pairs[i].Ids, pairs[end].Ids);
                if (common < Math.Min(pairs[i].First, pairs[end].First)) break;
                shared = Math.Min(shared, Math.Min(pairs[end].First, common));
                end++;
            }
            using var cache = session.NewCache();
            var last = session.Forward(pairs[i].Ids[..shared], cache, adapter);
            var members = Enumerable.Range(i, end - i).Where(k => pairs[k].Ids.Length > shared).ToList();
            for (int start = 0; start < members.Count;)
            {
                var batch = new List<int>();
                int width = 0;
                while (start < members.Count && (batch.Count == 0 || (batch.Count + 1) * Math.Max(width, pairs[members[start]].Ids.Length - shared) <= TokensPerRun))
                {
                    batch.Add(members[start]);
                    width = Math.Max(width, pairs[members[start]].Ids.Length - shared);
                    start++;
                }
                var logits = BatchedPrefill.Run(session, batch.Select(k => pairs[k].Ids[shared..]).ToList(), cache, adapter);
                for (int b = 0; b < batch.Count; b++)
                {
                    var (ids, first) = pairs[batch[b]];
                    double total = 0;
                    for (int t = first; t < ids.Length; t++)
                        total += OnnxLanguageModel.LogSoftmax(t - 1 < shared ? last.AsSpan() : logits[b].AsSpan((t - 1 - shared) * vocabulary, vocabulary), (int)ids[t]);
                    result[batch[b]] = total;
                }
            }
            i = end;
        }
        return result;
    }

    private static int Common(long[] a, long[] b)
    {
        int n = 0;
        while (n < a.Length && n < b.Length && a[n] == b[n]) n++;
        return n;
    }
}
