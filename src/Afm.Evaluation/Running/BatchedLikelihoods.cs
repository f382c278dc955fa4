using Afm.Runtime.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Evaluation.Running;

/// <summary>
/// Log-likelihoods of many (context, continuation) pairs, each within the context length, in few ONNX Runtime runs
/// (<see cref="BatchedPrefill"/>).
/// </summary>
internal static class BatchedLikelihoods
{
    /// <summary>Tokens (rows x the longest row) of one run.</summary>
    internal const int TokensPerRun = 2048;

    internal static bool SharedPrefix = Environment.GetEnvironmentVariable("AFM_EVAL_SHARED") == "1";

    /// <summary>ln P(ids[first..] | ids[..first]) of each pair, in nats.</summary>
    public static double[] Score(DecoderSession session, OrtLoraAdapter? adapter, IReadOnlyList<(long[] Ids, int First)> pairs)
        => SharedPrefix ? ScoreShared(session, adapter, pairs) : ScorePadded(session, adapter, pairs);

    private static double[] ScorePadded(DecoderSession session, OrtLoraAdapter? adapter, IReadOnlyList<(long[] Ids, int First)> pairs)
    {
        var result = new double[pairs.Count];
        var batch = new List<int>();
        int width = 0, vocabulary = session.VocabSize;
        void Flush()
        {
            if (batch.Count == 0) return;
            var logits = BatchedPrefill.Run(session, batch.Select(i => pairs[i].Ids).ToList(), null, adapter);
            for (int k = 0; k < batch.Count; k++)
            {
                var (ids, first) = pairs[batch[k]];
                double total = 0;
                for (int t = first; t < ids.Length; t++)
                    total += OnnxLanguageModel.LogSoftmax(logits[k].AsSpan((t - 1) * vocabulary, vocabulary), (int)ids[t]);
                result[batch[k]] = total;
            }
            batch.Clear();
            width = 0;
        }
        for (int i = 0; i < pairs.Count; i++)
        {
            int length = pairs[i].Ids.Length;
            if (batch.Count > 0 && (batch.Count + 1) * Math.Max(width, length) > TokensPerRun) Flush();
            batch.Add(i);
            width = Math.Max(width, length);
        }
        Flush();
        return result;
    }

    private static double[] ScoreShared(DecoderSession session, OrtLoraAdapter? adapter, IReadOnlyList<(long[] Ids, int First)> pairs)
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
