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

    public double LogLikelihood(string context, string continuation)
    {
        int spaces = context.Length - context.TrimEnd().Length;
        if (spaces > 0) (context, continuation) = (context[..^spaces], context[^spaces..] + continuation);
        var whole = tokenizer.EncodeSequence(context + continuation);
        int contextCount = tokenizer.EncodeSequence(context).Count;
        return -Score(whole, Math.Max(1, Math.Min(contextCount, whole.Count)));
    }

    public double NegativeLogLikelihood(string text) => Score(tokenizer.EncodeSequence(text), 1);

    /// <summary>
    /// A prompt longer than the context leaves for the generation keeps its last tokens (as the harness's generate_until
    /// cuts the context to the model length minus the tokens to generate); generation also ends at the context length.
    /// </summary>
    public string Generate(string prompt, int maxTokens, IReadOnlyList<string> stop)
    {
        var ids = generator.Tokenize(prompt);
        int keep = Math.Max(1, session.MaxSequenceLength - maxTokens);
        if (ids.Count > keep) ids = ids.Skip(ids.Count - keep).ToList();
        var options = new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy, StopSequences = stop, Adapter = adapter };
        var chunks = generator.GenerateAsync(ids, options).ToBlockingEnumerable();
        return string.Concat(chunks.Select(c => c.Text));
    }

    /// <summary>
    /// -ln P of ids[first..] given the ids before, in nats. Windows of the context length each predict the tokens not yet
    /// scored, with the tokens just before them as context (a rolling window, as the harness's loglikelihood_rolling).
    /// </summary>
    private double Score(IReadOnlyList<int> ids, int first)
    {
        int max = session.MaxSequenceLength;
        double total = 0;
        int next = first;
        while (next < ids.Count)
        {
            int end = Math.Min(ids.Count, next + max - 1);
            int start = Math.Max(0, end - max);
            using var cache = session.NewCache();
            // One run for the window's context and the first scored position, then one run per further token (the
            // runtime's Forward returns the last position's logits).
            var logits = session.Forward(ids.Skip(start).Take(next - start).Select(i => (long)i).ToArray(), cache, handle);
            for (int t = next; t < end; t++)
            {
                total -= LogSoftmax(logits, ids[t]);
                if (t + 1 < end) logits = session.Forward([ids[t]], cache, handle);
            }
            next = end;
        }
        return total;
    }

    /// <summary>ln softmax(logits)[target], in double with the largest logit subtracted (no overflow).</summary>
    internal static double LogSoftmax(float[] logits, int target)
    {
        double max = double.NegativeInfinity;
        foreach (var l in logits) max = Math.Max(max, l);
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        return logits[target] - max - Math.Log(sum);
    }
}
