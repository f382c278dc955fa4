using Afm.Onnx.Adapters;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Runtime.Adapters;

/// <summary>
/// An adapter at another scale than it was trained at (llama-server's per-request <c>"lora": [{"id", "scale"}]</c>).
/// ONNX Runtime applies an adapter's tensors as they are (<see cref="OrtLoraAdapter"/> has no scale), and LoRA's delta
/// B·A (its alpha/rank already folded into B) is linear in B, so a scaled adapter is a copy whose <c>.lora_B</c>
/// tensors are multiplied by the scale, built from the <c>.onnx_adapter</c> file and loaded from memory. At most
/// <see cref="Capacity"/> copies are kept, the least recently used dropped first; a copy a generation still uses is
/// released when that generation ends.
/// </summary>
internal sealed class ScaledAdapters : IDisposable
{
    public const int Capacity = 8;

    private readonly object gate = new();
    private readonly LinkedList<Entry> entries = []; // most recently used first

    public int Count
    {
        get { lock (gate) return entries.Count; }
    }

    /// <summary>The copy of <paramref name="adapter"/> (read from <paramref name="file"/>) at <paramref name="scale"/>, held until the lease is disposed.</summary>
    public AdapterLease Rent(LoadedAdapter adapter, string file, double scale)
    {
        lock (gate)
        {
            var node = entries.First;
            while (node is not null && (node.Value.Name != adapter.Name || node.Value.Scale != scale)) node = node.Next;
            if (node is null)
            {
                node = entries.AddFirst(new Entry(adapter.Name, scale, OrtLoraAdapter.Create(Scaled(File.ReadAllBytes(file), (float)scale), null)));
                while (entries.Count > Capacity && entries.Last is { } oldest)
                {
                    entries.RemoveLast();
                    oldest.Value.Evicted = true;
                    oldest.Value.ReleaseIfUnused();
                }
            }
            else
            {
                entries.Remove(node);
                entries.AddFirst(node);
            }
            var entry = node.Value;
            entry.Users++;
            return new AdapterLease(entry.Handle, AdapterLease.KeyOf(adapter.Name, scale), () =>
            {
                lock (gate)
                {
                    entry.Users--;
                    entry.ReleaseIfUnused();
                }
            });
        }
    }

    /// <summary>The adapter file's bytes with every <c>.lora_B</c> tensor multiplied by <paramref name="scale"/>.</summary>
    internal static byte[] Scaled(byte[] adapterFile, float scale)
    {
        var adapter = OnnxAdapterFormat.Read(adapterFile);
        var parameters = adapter.Parameters.Select(p => p.Name.EndsWith(".lora_B", StringComparison.Ordinal)
            ? AdapterParameter.FromFloats(p.Name, p.ToFloats().Select(v => v * scale).ToArray(), p.Dims)
            : p);
        return OnnxAdapterFormat.Write(adapter.AdapterVersion, adapter.ModelVersion, parameters);
    }

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var entry in entries)
            {
                entry.Evicted = true;
                entry.ReleaseIfUnused();
            }
            entries.Clear();
        }
    }

    private sealed class Entry(string name, double scale, OrtLoraAdapter handle)
    {
        public string Name => name;
        public double Scale => scale;
        public OrtLoraAdapter Handle => handle;
        public int Users { get; set; }
        public bool Evicted { get; set; }
        public void ReleaseIfUnused()
        {
            if (Evicted && Users == 0) handle.Dispose();
        }
    }
}

/// <summary>
/// The adapter one generation runs with: its ONNX Runtime handle (null: the base model) and the key that tells which
/// generations may share a batched run or a cached prompt (the adapter's name, with its scale when not 1).
/// </summary>
public sealed class AdapterLease(OrtLoraAdapter? handle, string key, Action? release = null) : IDisposable
{
    public static AdapterLease None { get; } = new(null, "");

    public OrtLoraAdapter? Handle => handle;
    public string Key => key;

    public static string KeyOf(string name, double scale) => scale == 1 ? name : $"{name}*{scale:R}";

    private int released;
    public void Dispose()
    {
        if (release is not null && Interlocked.Exchange(ref released, 1) == 0) release();
    }
}
