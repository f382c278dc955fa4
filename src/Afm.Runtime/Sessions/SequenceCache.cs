namespace Afm.Runtime.Sessions;

/// <summary>
/// The key/value cache of one sequence that decodes in batched runs (<see cref="BatchedDecodeStep"/>), held in managed
/// arrays [kvHeads, capacity, headDim] per layer (each layer with its own kvHeads under layer-wise scaling). Sized once for the whole generation (prompt + budget), so a decode step
/// appends one column per head in place; a batched run copies each row's used columns into the padded batch cache and
/// takes back only the new column. Owned by one generation; written only by the run its step is part of.
/// </summary>
public sealed class SequenceCache
{
    private readonly float[][] keys, values;
    private readonly IReadOnlyList<int> kvHeads;
    private readonly int headDim;

    /// <param name="kvHeads">Key/value heads of each layer, in layer order.</param>
    public SequenceCache(IReadOnlyList<int> kvHeads, int headDim, int capacity)
    {
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        Capacity = capacity;
        keys = kvHeads.Select(h => new float[h * capacity * headDim]).ToArray();
        values = kvHeads.Select(h => new float[h * capacity * headDim]).ToArray();
    }

    /// <summary>Positions this cache can hold.</summary>
    public int Capacity { get; }
    /// <summary>Positions already in the cache.</summary>
    public int Length { get; private set; }

    /// <summary>A cache holding a prefilled <paramref name="cache"/> ([1, kvHeads, length, headDim] per layer), with room for <paramref name="capacity"/> positions.</summary>
    public static SequenceCache From(KvCache cache, DecoderSession session, int capacity)
    {
        var result = new SequenceCache(session.LayerKvHeads, session.HeadDim, Math.Max(capacity, cache.Length));
        for (int layer = 0; layer < session.Layers; layer++)
        {
            result.Write(layer, result.keys[layer], cache.Keys[layer].GetTensorDataAsSpan<float>(), cache.Stride, 0, cache.Length);
            result.Write(layer, result.values[layer], cache.Values[layer].GetTensorDataAsSpan<float>(), cache.Stride, 0, cache.Length);
        }
        result.Length = cache.Length;
        return result;
    }

    /// <summary>Copies the used columns of layer <paramref name="layer"/> into one row [kvHeads, width, headDim] of a batch cache (the rest stays as it is: padding).</summary>
    internal void CopyRow(int layer, bool key, Span<float> row, int width)
    {
        var source = key ? keys[layer] : values[layer];
        for (int h = 0; h < kvHeads[layer]; h++)
            source.AsSpan(h * Capacity * headDim, Length * headDim).CopyTo(row.Slice(h * width * headDim, Length * headDim));
    }

    /// <summary>Appends column <paramref name="column"/> of one row [kvHeads, width, headDim] of a run's present key (or value).</summary>
    internal void AppendColumn(int layer, bool key, ReadOnlySpan<float> row, int width, int column)
    {
        if (Length >= Capacity) throw new InvalidOperationException($"The sequence's cache is full ({Capacity} positions).");
        Write(layer, key ? keys[layer] : values[layer], row, width, column, 1);
    }

    /// <summary>Marks the column appended to every layer by the last run as part of the cache.</summary>
    internal void Advance() => Length++;

    /// <summary>Columns [from, from+count) of <paramref name="row"/> [kvHeads, width, headDim] to positions Length.. of <paramref name="target"/>.</summary>
    private void Write(int layer, float[] target, ReadOnlySpan<float> row, int width, int from, int count)
    {
        for (int h = 0; h < kvHeads[layer]; h++)
            row.Slice((h * width + from) * headDim, count * headDim).CopyTo(target.AsSpan((h * Capacity + Length) * headDim));
    }
}
