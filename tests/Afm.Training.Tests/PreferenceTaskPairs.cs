using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Stages;

namespace Afm.Training.Tests;

/// <summary>
/// Preference pairs in memory, packed as the data stage packs them: a prompt of 4 random tokens (2..14), the chosen
/// response copies it, the rejected one copies it with 1-4 tokens replaced by 15 (4: significantly better ... 1:
/// negligibly better), each followed by end-of-document (1) and padded with it. Response and end-of-document are masked
/// as targets. Checkable, so a reward model or dpo can learn it in seconds.
/// </summary>
internal static class PreferenceTaskPairs
{
    public const int EndOfDocument = 1;
    public const int Bad = 15;

    public static PreferencePairs Create(int sequenceLength, int pairs, int salt, bool grades = false)
    {
        var labels = new List<(PreferenceLevel, float, float)>();
        var tokens = new List<int[]>();
        var masks = new List<byte[]>();
        for (int p = 0; p < pairs; p++)
        {
            ulong state = (ulong)(p + salt) * 0x9E3779B97F4A7C15UL;
            var prompt = Enumerable.Range(0, 4).Select(_ => 2 + (int)(SequenceSampler.SplitMix64(ref state) % 13)).ToArray();
            int wrong = 1 + (int)(SequenceSampler.SplitMix64(ref state) % 4);
            var rejected = prompt.ToArray();
            for (int i = 0; i < wrong; i++) rejected[i] = Bad;
            foreach (var response in new[] { prompt, rejected })
            {
                var sequence = Enumerable.Repeat(EndOfDocument, sequenceLength + 1).ToArray();
                var mask = new byte[sequenceLength + 1];
                prompt.CopyTo(sequence, 0);
                response.CopyTo(sequence, 4);
                for (int i = 4; i <= 8; i++) mask[i] = 1;
                tokens.Add(sequence);
                masks.Add(mask);
            }
            labels.Add(((PreferenceLevel)(4 - wrong), grades ? 1f : float.NaN, grades ? 1f - wrong / 4f : float.NaN));
        }
        return PreferencePairs.FromSequences(new Sequences(sequenceLength, tokens, masks), labels);
    }

    /// <summary>Pretrain stages get counting data; preference stages these pairs (256 to train, 32 held out).</summary>
    public static Func<string, string, IPackedSequences> Data(params string[] preferenceStages) => (stage, split) =>
        preferenceStages.Contains(stage)
            ? Create(16, split == "train" ? 256 : 32, split == "train" ? 0 : 100_000)
            : MicroModels.CountingData()(stage, split);

    private sealed class Sequences(int sequenceLength, List<int[]> tokens, List<byte[]> masks) : ILossMaskedSequences
    {
        public int SequenceLength => sequenceLength;
        public long Count => tokens.Count;
        public int VocabSize => 16;
        public void Read(long index, Span<int> destination) => tokens[(int)index].CopyTo(destination);
        public void ReadLossMask(long index, Span<byte> destination) => masks[(int)index].CopyTo(destination);
    }
}
