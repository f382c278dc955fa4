using Afm.Evaluation.Scoring;
using Afm.Runtime.Adapters;
using Afm.Runtime.Generation;
using Afm.Runtime.Sessions;
using Afm.Tokenizers;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Evaluation.Running;

/// <summary>
/// A model variant as the device runs it: the exported ONNX graph in Afm.Runtime's <see cref="DecoderSession"/>, with
/// one of the graph's adapters active or none. Pairs are tokenized as lm-evaluation-harness does: trailing white space
/// of the context moves to the continuation, the whole text is encoded (after the beginning-of-sequence token), and the
/// continuation's tokens are the ones after the context's; beyond the context length the oldest tokens are dropped.
/// </summary>
public sealed class OnnxLanguageModel(DecoderSession session, AfmTokenizer tokenizer, AdapterSet adapters, string? adapter) : ILanguageModel
{
    private readonly OrtLoraAdapter? handle = adapter is null ? null : adapters.Resolve(adapter, "afm evaluate").Handle;
    private readonly TextGenerator generator = new(session, tokenizer, adapters);

    /// <summary>One pair alone: one run over the whole pair (a run per rolling window beyond the context); what the batched path is tested against.</summary>
    public double LogLikelihood(string context, string continuation)
    {
        var (ids, first) = Pair(context, continuation);
        return -Score(ids, first);
    }

    /// <summary>
    /// Many pairs in few runs (<see cref="BatchedLikelihoods"/>); a pair longer than the context, or a graph that cannot
    /// run padded batches, is scored alone.
    /// </summary>
    public IReadOnlyList<double> LogLikelihoods(IReadOnlyList<(string Context, string Continuation)> requests)
    {
        var pairs = requests.Select(r => Pair(r.Context, r.Continuation)).ToList();
        var result = new double[pairs.Count];
        bool batchable = BatchedPrefill.IsSupported(session);
        var fitting = new List<int>();
        for (int i = 0; i < pairs.Count; i++)
            if (batchable && pairs[i].Ids.Length <= session.MaxSequenceLength) fitting.Add(i);
            else result[i] = -Score(pairs[i].Ids, pairs[i].First);
        var batched = BatchedLikelihoods.Score(session, handle, fitting.Select(i => pairs[i]).ToList());
        for (int k = 0; k < fitting.Count; k++) result[fitting[k]] = batched[k];
        return result;
    }

    public double NegativeLogLikelihood(string text) => Score(tokenizer.EncodeSequence(text).Select(i => (long)i).ToArray(), 1);

    /// <summary>One prompt alone; generation also ends at the context length.</summary>
    public string Generate(string prompt, int maxTokens, IReadOnlyList<string> stop)
    {
        var chunks = generator.GenerateAsync(PromptIds(prompt, maxTokens), Options(maxTokens, stop)).ToBlockingEnumerable();
        return string.Concat(chunks.Select(c => c.Text));
    }

    // Generations run one prompt after another (GenerateScorer), not through the DecodeBatcher: which
    // steps share a run there depends on timing (a member still in its prefill is not waited for), and a row's logits can
    // differ in their last bits with the run's other rows, so a near tie in a greedy step could flip and the report, which
    // the artifact carries, would not be the same bytes from one build to the next. Scores stay batched: their runs are
    // fixed by the data (LogLikelihoods).

    private GenerationOptions Options(int maxTokens, IReadOnlyList<string> stop) =>
        new() { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy, StopSequences = stop, Adapter = adapter };

    /// <summary>
    /// A prompt longer than the context leaves for the generation keeps its last tokens (as the harness's generate_until
    /// cuts the context to the model length minus the tokens to generate).
    /// </summary>
    private IReadOnlyList<int> PromptIds(string prompt, int maxTokens)
    {
        var ids = generator.Tokenize(prompt);
        int keep = Math.Max(1, session.MaxSequenceLength - maxTokens);
        return ids.Count > keep ? ids.Skip(ids.Count - keep).ToList() : ids;
    }

    /// <summary>The pair's tokens and the index of the continuation's first token (at least 1: the beginning-of-sequence token is context).</summary>
    private (long[] Ids, int First) Pair(string context, string continuation)
    {
        int spaces = context.Length - context.TrimEnd().Length;
        if (spaces > 0) (context, continuation) = (context[..^spaces], context[^spaces..] + continuation);
        var whole = tokenizer.EncodeSequence(context + continuation);
        int contextCount = tokenizer.EncodeSequence(context).Count;
        return (whole.Select(i => (long)i).ToArray(), Math.Max(1, Math.Min(contextCount, whole.Count)));
    }

    /// <summary>
    /// -ln P of ids[first..] given the ids before, in nats. Windows of the context length each predict the tokens not yet
    /// scored, with the tokens just before them as context (a rolling window, as the harness's loglikelihood_rolling).
    /// Each window is one run that returns the logits of every position it scores.
    /// </summary>
    private double Score(long[] ids, int first)
    {
        int max = session.MaxSequenceLength, vocabulary = session.VocabSize;
        double total = 0;
        int next = first;
        while (next < ids.Length)
        {
            int end = Math.Min(ids.Length, next + max - 1);
            int start = Math.Max(0, end - max);
            using var cache = session.NewCache();
            // Positions next-1 .. end-2 predict tokens next .. end-1.
            var logits = session.Forward(ids[start..(end - 1)], cache, handle, end - next);
            for (int t = next; t < end; t++)
                total -= LogSoftmax(logits.AsSpan((t - next) * vocabulary, vocabulary), (int)ids[t]);
            next = end;
        }
        return total;
    }

    /// <summary>ln softmax(logits)[target], in double with the largest logit subtracted (no overflow).</summary>
    internal static double LogSoftmax(ReadOnlySpan<float> logits, int target)
    {
        double max = double.NegativeInfinity;
        foreach (var l in logits) max = Math.Max(max, l);
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        return logits[target] - max - Math.Log(sum);
    }
}
