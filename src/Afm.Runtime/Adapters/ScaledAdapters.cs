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
internal sealed class ScaledAdapters(Func<string, float, OrtLoraAdapter>? build = null) : IDisposable
{
    public const int Capacity = 8;

    private readonly object gate = new();
    private readonly LinkedList<Entry> entries = []; // most recently used first
    // Copies being built, by adapter and scale: built outside the lock (reading, scaling and loading an adapter takes
    // as long as its file is large), so a request of a copy that is kept, or of another adapter, never waits for it;
    // a request of the same copy waits for that one build instead of making its own.
    private readonly Dictionary<(string Name, double Scale), Task> building = [];
    private bool disposed;
    private readonly Func<string, float, OrtLoraAdapter> build = build ?? ((file, scale) => OrtLoraAdapter.Create(Scaled(File.ReadAllBytes(file), scale), null));

    public int Count
    {
        get { lock (gate) return entries.Count; }
    }

    /// <summary>The copy of <paramref name="adapter"/> (read from <paramref name="file"/>) at <paramref name="scale"/>, held until the lease is disposed.</summary>
    public AdapterLease Rent(LoadedAdapter adapter, string file, double scale)
    {
        var key = (adapter.Name, scale);
        while (true)
        {
            Task? inFlight;
            TaskCompletionSource? mine = null;
            lock (gate)
            {
                var node = entries.First;
                while (node is not null && (node.Value.Name != adapter.Name || node.Value.Scale != scale)) node = node.Next;
                if (node is not null)
                {
                    entries.Remove(node);
                    entries.AddFirst(node);
                    return Lease(node.Value);
                }
                if (!building.TryGetValue(key, out inFlight))
                {
                    mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    building[key] = mine.Task;
                }
            }
            if (mine is null)
            {
                // Another request builds this copy: wait for it, then look again (a failed build is that request's
                // error; this one then builds its own).
                ((IAsyncResult)inFlight!).AsyncWaitHandle.WaitOne();
                continue;
            }
            try
            {
                var handle = build(file, (float)scale);
                lock (gate)
                {
                    if (disposed)
                    {
                        handle.Dispose();
                        throw new ObjectDisposedException(nameof(ScaledAdapters));
                    }
                    var entry = entries.AddFirst(new Entry(adapter.Name, scale, handle)).Value;
                    while (entries.Count > Capacity && entries.Last is { } oldest)
                    {
                        entries.RemoveLast();
                        oldest.Value.Evicted = true;
                        oldest.Value.ReleaseIfUnused();
                    }
                    return Lease(entry);
                }
            }
            finally
            {
                lock (gate) building.Remove(key);
                mine.SetResult();
            }
        }
    }

    /// <summary>Called under the lock: one more user of <paramref name="entry"/> until the lease is disposed.</summary>
    private AdapterLease Lease(Entry entry)
    {
        entry.Users++;
        return new AdapterLease(entry.Handle, AdapterLease.KeyOf(entry.Name, entry.Scale), () =>
        {
            lock (gate)
            {
                entry.Users--;
                entry.ReleaseIfUnused();
            }
        });
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
            disposed = true;
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
