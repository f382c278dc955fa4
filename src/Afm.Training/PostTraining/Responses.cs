using Afm.Data.Packing;
using Afm.Runtime.Generation;
using Afm.Training.Model;
using static TorchSharp.torch;

namespace Afm.Training.PostTraining;

/// <summary>
/// Answers to the prompts of preference data, as the post-training stages draw and score them: the prompt is a pair's
/// chosen sequence before its response; an answer is at most <see cref="MaxNewTokens"/> new tokens, ended by
/// end-of-document, which is added when the answer runs out, and the whole sequence fits the stage's L tokens. Tokens are
/// chosen by the toolchain's own <see cref="Sampler"/> (greedy, or seeded sampling: the same seed gives the same answer).
/// </summary>
public static class Responses
{
    public const int MaxNewTokens = 48;

    /// <summary>The prompt of pair <paramref name="pair"/> and its end-of-document id.</summary>
    public static (long[] Prompt, int EndOfDocument) Prompt(PreferencePairs pairs, long pair)
    {
        int width = pairs.ResponseLength + 1;
        var tokens = new int[2 * width];
        var mask = new byte[2 * width];
        pairs.Read(pair, tokens);
        pairs.ReadLossMask(pair, mask);
        int responseStart = Array.IndexOf(mask, (byte)1, 0, width);
        int endOfDocument = tokens[Array.LastIndexOf(mask, (byte)1, width - 1)];
        return (tokens.Take(responseStart).Select(t => (long)t).ToArray(), endOfDocument);
    }

    /// <summary>
    /// One answer per sampler to <paramref name="prompt"/>, decoded together (rows that ended wait for the others); each
    /// returned sequence is the prompt, the answer and end-of-document, at most <paramref name="length"/> tokens.
    /// </summary>
    public static long[][] Generate(AfmDecoder model, long[] prompt, int endOfDocument, int length, IReadOnlyList<Sampler> samplers)
    {
        int n = samplers.Count, vocab = model.Architecture.VocabSize;
        var rows = Enumerable.Range(0, n).Select(_ => new List<long>(prompt)).ToArray();
        var done = new bool[n];
        var logits = new float[n * vocab];
        for (int k = 0; k < MaxNewTokens && rows[0].Count < length && !done.All(d => d); k++)
        {
            using var scope = NewDisposeScope();
            var ids = tensor(rows.SelectMany(r => r).ToArray(), [n, rows[0].Count]);
            model.forward(ids).select(1, -1).contiguous().data<float>().CopyTo(logits, 0);
            for (int r = 0; r < n; r++)
            {
                long next = done[r] ? endOfDocument : samplers[r].Next(logits.AsSpan(r * vocab, vocab));
                rows[r].Add(next);
                done[r] |= next == endOfDocument;
            }
        }
        return rows.Select(r =>
        {
            int end = r.IndexOf(endOfDocument, prompt.Length);
            if (end >= 0) return r.Take(end + 1).ToArray();
            if (r.Count >= length) r.RemoveAt(r.Count - 1);
            return [.. r, endOfDocument];
        }).ToArray();
    }

    /// <summary>The reward of each sequence (each ends with its end-of-document), scored in one padded batch.</summary>
    /// <param name="responseStarts">Where each sequence's response begins (its prompt's length): the reward reads what follows.</param>
    public static double[] Score(RewardModel scorer, IReadOnlyList<long[]> sequences, IReadOnlyList<int> responseStarts, int endOfDocument)
    {
        using var scope = NewDisposeScope();
        int width = sequences.Max(s => s.Length);
        var ids = new long[sequences.Count * width];
        Array.Fill(ids, endOfDocument);
        for (int i = 0; i < sequences.Count; i++) sequences[i].CopyTo(ids, i * width);
        var mask = new float[ids.Length];
        for (int i = 0; i < sequences.Count; i++) mask.AsSpan(i * width + responseStarts[i], sequences[i].Length - responseStarts[i]).Fill(1);
        return scorer.Rewards(tensor(ids, [sequences.Count, width]), tensor(mask, [sequences.Count, width])).data<float>().ToArray().Select(v => (double)v).ToArray();
    }

    /// <summary>As above for answers to one prompt of <paramref name="promptLength"/> tokens.</summary>
    public static double[] Score(RewardModel scorer, IReadOnlyList<long[]> sequences, int promptLength, int endOfDocument) =>
        Score(scorer, sequences, Enumerable.Repeat(promptLength, sequences.Count).ToArray(), endOfDocument);

    /// <summary>The mean reward <paramref name="scorer"/> gives <paramref name="model"/>'s greedy answers to the first <paramref name="prompts"/> prompts of <paramref name="pairs"/>.</summary>
    public static double MeanGreedyReward(AfmDecoder model, RewardModel scorer, PreferencePairs pairs, int prompts)
    {
        bool training = model.training;
        model.eval();
        double total = 0;
        using (no_grad())
        {
            for (int p = 0; p < prompts; p++)
            {
                var (prompt, endOfDocument) = Prompt(pairs, p);
                var answer = Generate(model, prompt, endOfDocument, pairs.ResponseLength, [new Sampler(SamplingOptions.Greedy)]);
                total += Score(scorer, answer, prompt.Length, endOfDocument)[0];
            }
        }
        if (training) model.train();
        return Stages.StageTrainer.Round(total / Math.Max(1, prompts));
    }

    /// <summary>The settings of a rejection-sampling or rl stage, which needs held-out prompts to report on.</summary>
    internal static Core.Spec.PreferenceStageSpec SamplingSettings(Core.Spec.TrainingStageSpec stage, PreferencePairs validation)
    {
        if (validation.Count == 0) throw new InvalidOperationException($"Stage '{stage.Name}' has no held-out pairs (the data stage refuses this with AFM2004).");
        return stage.Preference ?? throw new InvalidOperationException($"Stage '{stage.Name}' has no {Core.Spec.StageKinds.Name(stage.Kind)} settings.");
    }

    /// <summary>A sampler whose seed is a function of the stage's data seed and where the answer is drawn (member or step, prompt, sample).</summary>
    public static Sampler Seeded(double temperature, ulong dataSeed, long a, long b, long c)
    {
        ulong state = dataSeed ^ unchecked((ulong)a * 0x9E3779B97F4A7C15UL + (ulong)b * 0xBF58476D1CE4E5B9UL + (ulong)c * 0x94D049BB133111EBUL);
        long seed = unchecked((long)Stages.SequenceSampler.SplitMix64(ref state));
        return new Sampler(new SamplingOptions { Temperature = temperature, Seed = seed });
    }
}
