using Microsoft.ML.OnnxRuntime;

namespace Afm.Runtime.Sessions;

/// <summary>
/// The key/value cache of one sequence, [1, kvHeads, positions, headDim] per layer. For a standard graph: the
/// <c>present.*</c> OrtValues of the last run, fed back as <c>past_key_values.*</c> of the next. For a fused graph:
/// buffers of <see cref="Capacity"/> positions that every run writes in place (the first <see cref="Length"/> hold the
/// sequence). Owned by one generation; not thread-safe.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly int? capacity;

    internal KvCache(OrtValue[] keys, OrtValue[] values, int? capacity)
    {
        Keys = keys;
        Values = values;
        this.capacity = capacity;
    }

    /// <summary>Positions each head's rows hold in the tensors: the buffer's capacity, or just <see cref="Length"/> when the cache grows by replacement.</summary>
    internal int Stride => capacity ?? Length;

    /// <summary>Positions the preallocated buffers hold (a fused graph's cache), or null when the cache grows by replacement.</summary>
    internal int? Capacity => capacity;

    internal OrtValue[] Keys { get; private set; }
    internal OrtValue[] Values { get; private set; }
    /// <summary>Positions already in the cache.</summary>
    public int Length { get; internal set; }

    internal void Replace(OrtValue[] keys, OrtValue[] values, int length)
    {
        DisposeValues();
        Keys = keys;
        Values = values;
        Length = length;
    }

    public void Dispose() => DisposeValues();

    private void DisposeValues()
    {
        foreach (var value in Keys) value.Dispose();
        foreach (var value in Values) value.Dispose();
        Keys = [];
        Values = [];
    }
}
