namespace Afm.Data.Packing;

/// <summary>
/// The "does the model beat unigram statistics" baseline: cross-entropy (nats/token) of the validation targets
/// under p(t) = (count_train(t) + 1) / (N_train + V), the add-one-smoothed unigram of the training targets.
/// Targets are positions 1..L of each sequence, exactly what the model is scored on.
/// </summary>
internal static class UnigramBaseline
{
    public static long[] CountTargets(IPackedSequences sequences)
    {
        var counts = new long[sequences.VocabSize];
        var buffer = new int[sequences.SequenceLength + 1];
        for (long i = 0; i < sequences.Count; i++)
        {
            sequences.Read(i, buffer);
            for (var t = 1; t < buffer.Length; t++)
                counts[buffer[t]]++;
        }
        return counts;
    }

    public static double CrossEntropy(long[] trainCounts, long[] validCounts)
    {
        var vocab = trainCounts.Length;
        var trainTotal = trainCounts.Sum();
        var validTotal = validCounts.Sum();
        if (validTotal == 0)
            return double.NaN;
        var logDenominator = Math.Log(trainTotal + vocab);
        var sum = 0.0;
        for (var t = 0; t < vocab; t++)
        {
            if (validCounts[t] > 0)
                sum += validCounts[t] * (logDenominator - Math.Log(trainCounts[t] + 1));
        }
        return sum / validTotal;
    }
}
