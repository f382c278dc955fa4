using Afm.Data.Packing;

namespace Afm.Training.Stages;

/// <summary>
/// Hands out training sequences in a seeded random order: a fresh permutation of all sequences per epoch,
/// drawn with SplitMix64 (ours, so the order never depends on System.Random's implementation).
/// The position is (epoch, index), so a stage's data order is a pure function of (seed, stage, step).
/// </summary>
public sealed class SequenceSampler
{
    private readonly IPackedSequences source;
    private readonly ulong seed;
    private long[] order = [];
    private long epoch = -1;
    private long next;

    public SequenceSampler(IPackedSequences source, ulong seed)
    {
        if (source.Count <= 0) throw new ArgumentException("The stage has no training sequences.", nameof(source));
        this.source = source;
        this.seed = seed;
    }

    /// <summary>Sequences handed out so far (the data position recorded in checkpoints).</summary>
    public long Consumed { get; private set; }

    /// <summary>Moves to the position after <paramref name="consumed"/> sequences, as if they had been handed out.</summary>
    public void Seek(long consumed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(consumed);
        Consumed = consumed;
        if (consumed == 0) { epoch = -1; next = 0; return; }
        epoch = consumed / source.Count - 1;
        StartEpoch();
        next = consumed % source.Count;
    }

    /// <summary>Fills <paramref name="batch"/> (batchSize * (L + 1) ids) with the next sequences.</summary>
    public void NextBatch(Span<int> batch, int batchSize) => NextBatch(batch, batchSize, []);

    /// <summary>Also fills <paramref name="lossMask"/> (batchSize * (L + 1) bytes) when it is not empty; the source must then have loss masks.</summary>
    public void NextBatch(Span<int> batch, int batchSize, Span<byte> lossMask) => NextBatch(batch, batchSize, lossMask, []);

    /// <summary>Also writes which sequences were handed out into <paramref name="indices"/> when it is not empty (preference stages read each pair's labels by it).</summary>
    public void NextBatch(Span<int> batch, int batchSize, Span<byte> lossMask, Span<long> indices)
    {
        int width = source.SequenceLength + 1;
        var masked = lossMask.IsEmpty ? null : source as ILossMaskedSequences
            ?? throw new InvalidOperationException("A loss mask was asked for, but the sequences have none.");
        for (int b = 0; b < batchSize; b++)
        {
            if (epoch < 0 || next == order.Length) StartEpoch();
            long index = order[next++];
            if (!indices.IsEmpty) indices[b] = index;
            source.Read(index, batch.Slice(b * width, width));
            masked?.ReadLossMask(index, lossMask.Slice(b * width, width));
            Consumed++;
        }
    }

    private void StartEpoch()
    {
        epoch++;
        next = 0;
        if (order.Length == 0) order = new long[source.Count];
        for (long i = 0; i < order.Length; i++) order[i] = i;
        ulong state = seed ^ (0x9E3779B97F4A7C15UL * (ulong)(epoch + 1));
        for (long i = order.Length - 1; i > 0; i--)
        {
            long j = (long)(SplitMix64(ref state) % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    internal static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
