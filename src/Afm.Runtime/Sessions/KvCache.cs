using Microsoft.ML.OnnxRuntime;

namespace Afm.Runtime.Sessions;

/// <summary>
/// The key/value cache of one sequence, [1, kvHeads, positions, headDim] per layer. For a standard graph: the
/// <c>present.*</c> OrtValues of the last run, fed back as <c>past_key_values.*</c> of the next. For a fused graph:
/// buffers of <see cref="Capacity"/> positions that every run writes in place (the first <see cref="Length"/> hold the
/// sequence). Owned by one generation; not thread-safe, except that <see cref="Share"/> lets one other reader keep
/// the current tensors alive (the prompt cache copying a prompt while the generation goes on).
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly int? capacity;
    private Tensors current;
    private bool disposed;

    internal KvCache(OrtValue[] keys, OrtValue[] values, int? capacity)
    {
        current = new Tensors(keys, values);
        this.capacity = capacity;
    }

    /// <summary>Positions each head's rows hold in the tensors: the buffer's capacity, or just <see cref="Length"/> when the cache grows by replacement.</summary>
    internal int Stride => capacity ?? Length;

    /// <summary>Positions the preallocated buffers hold (a fused graph's cache), or null when the cache grows by replacement.</summary>
    internal int? Capacity => capacity;

    internal OrtValue[] Keys => current.Keys;
    internal OrtValue[] Values => current.Values;
    /// <summary>Positions already in the cache.</summary>
    public int Length { get; internal set; }

    internal void Replace(OrtValue[] keys, OrtValue[] values, int length)
    {
        current.Release();
        current = new Tensors(keys, values);
        Length = length;
    }

    /// <summary>
    /// The first <see cref="Length"/> positions as they are now, readable from another thread until the view is disposed,
    /// whatever this cache does meanwhile: a standard graph's next run replaces the tensors (they are disposed only once
    /// both let go), a fused graph's writes only positions past them.
    /// </summary>
    internal View Share()
    {
        current.AddReference();
        return new View(current, Stride, Length);
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        current.Release();
    }

    /// <summary>A read-only view of a cache's first <see cref="Length"/> positions (see <see cref="Share"/>).</summary>
    internal sealed class View(Tensors tensors, int stride, int length) : IDisposable
    {
        private int disposed;
        public OrtValue[] Keys => tensors.Keys;
        public OrtValue[] Values => tensors.Values;
        public int Stride => stride;
        public int Length => length;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) tensors.Release();
        }
    }

    /// <summary>One set of per-layer tensors, disposed when its last holder lets go.</summary>
    internal sealed class Tensors(OrtValue[] keys, OrtValue[] values)
    {
        private int references = 1;
        public OrtValue[] Keys => keys;
        public OrtValue[] Values => values;
        public void AddReference() => Interlocked.Increment(ref references);
        public void Release()
        {
            if (Interlocked.Decrement(ref references) != 0) return;
            foreach (var value in keys) value.Dispose();
            foreach (var value in values) value.Dispose();
        }
    }
}
