using Microsoft.ML.OnnxRuntime;

namespace Afm.Runtime.Sessions;

/// <summary>
/// Key/value states of earlier prompts, kept so a prompt that starts like one of them (a chat's earlier turns, a common
/// system prompt) prefills only the tokens after the shared part. The key and value of a position depend only on the
/// tokens up to it (causal attention), so the first n columns of any cached prompt that agrees with a new prompt on
/// its first n tokens are that prompt's too: a lookup takes the entry with the longest common prefix (a partial match
/// counts), under the same adapter (an adapter changes every key and value). Bounded in bytes, least recently used
/// entry evicted first; storing a prompt drops the entries it extends (their every match is also its match). Safe for
/// concurrent generations: entries are copied in and out under a lock.
/// Storing is off the request's path: <see cref="Store"/> shares the prompt's tensors (<see cref="KvCache.Share"/>) with
/// a background copy and returns, so the first token is not kept waiting for a copy of every prompt, misses included.
/// At most <see cref="MaxPendingStores"/> copies wait at once (a prompt offered beyond that is not stored), and a
/// lookup first waits for those in flight: a copy costs less than prefilling what it may hold, and a chat's next turn
/// finds its previous turn whatever the timing.
/// </summary>
public sealed class PromptCache
{
    /// <summary>Fewer shared tokens than this are recomputed: copying a cache costs about as much as running so few.</summary>
    public const int MinimumReuse = 8;

    /// <summary>Background copies that may wait at once; each holds its prompt's tensors until it is done.</summary>
    public const int MaxPendingStores = 2;

    private readonly object gate = new();
    private readonly LinkedList<Entry> entries = []; // most recently used first
    private readonly List<Task> pending = [];
    private long hits, misses, evictions, reusedTokens, bytes, skippedStores;

    /// <param name="capacityBytes">The most bytes of key/value state (and token ids) held at once.</param>
    public PromptCache(long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        CapacityBytes = capacityBytes;
    }

    public long CapacityBytes { get; }
    /// <summary>Lookups that reused at least <see cref="MinimumReuse"/> tokens.</summary>
    public long Hits => Interlocked.Read(ref hits);
    public long Misses => Interlocked.Read(ref misses);
    /// <summary>Entries dropped to make room (not those dropped because a longer prompt extends them).</summary>
    public long Evictions => Interlocked.Read(ref evictions);
    /// <summary>Prompt tokens not prefilled thanks to the cache.</summary>
    public long ReusedTokens => Interlocked.Read(ref reusedTokens);
    /// <summary>Prompts not stored because <see cref="MaxPendingStores"/> copies were already waiting.</summary>
    public long SkippedStores => Interlocked.Read(ref skippedStores);
    public long Bytes
    {
        get { lock (gate) return bytes; }
    }
    public int Entries
    {
        get { lock (gate) return entries.Count; }
    }

    /// <summary>
    /// Fills the empty <paramref name="cache"/> with the longest cached prefix of <paramref name="prompt"/> under
    /// <paramref name="adapter"/> ("" for none), leaving at least the last token to run (its logits start the
    /// generation); returns how many positions it holds (0: a miss, nothing written).
    /// </summary>
    public int Restore(string adapter, IReadOnlyList<int> prompt, KvCache cache, DecoderSession session)
    {
        if (cache.Length != 0) throw new ArgumentException("The cache to restore into must be empty.", nameof(cache));
        WaitForStores();
        lock (gate)
        {
            LinkedListNode<Entry>? best = null;
            int length = 0;
            for (var node = entries.First; node is not null; node = node.Next)
            {
                if (node.Value.Adapter != adapter) continue;
                int common = Math.Min(Common(node.Value.Tokens, prompt), prompt.Count - 1);
                if (common > length) (best, length) = (node, common);
            }
            if (best is null || length < MinimumReuse)
            {
                Interlocked.Increment(ref misses);
                return 0;
            }
            entries.Remove(best);
            entries.AddFirst(best);
            best.Value.CopyTo(cache, session, length);
            Interlocked.Increment(ref hits);
            Interlocked.Add(ref reusedTokens, length);
            return length;
        }
    }

    /// <summary>
    /// Keeps the state of <paramref name="prompt"/> (all of it in <paramref name="cache"/>) for later prompts: copied in the
    /// background, while the generation goes on with <paramref name="cache"/>.
    /// </summary>
    public void Store(string adapter, IReadOnlyList<int> prompt, KvCache cache, DecoderSession session)
    {
        if (cache.Length != prompt.Count) throw new ArgumentException("The cache must hold exactly the prompt.", nameof(cache));
        if (prompt.Count < MinimumReuse) return;
        long size = EntryBytes(session, prompt.Count);
        if (size > CapacityBytes) return;
        int[] tokens = [.. prompt];
        lock (gate)
        {
            if (pending.Count >= MaxPendingStores)
            {
                Interlocked.Increment(ref skippedStores);
                return;
            }
            var view = cache.Share();
            var copy = Task.Run(() =>
            {
                using (view) Add(Entry.From(adapter, tokens, view, session, size));
            });
            pending.Add(copy);
            copy.ContinueWith(done => { lock (gate) pending.Remove(done); }, TaskContinuationOptions.ExecuteSynchronously);
        }
    }

    /// <summary>Returns once every store begun so far is in the cache.</summary>
    public void WaitForStores()
    {
        Task[] copies;
        lock (gate) copies = [.. pending];
        try
        {
            Task.WaitAll(copies);
        }
        catch (AggregateException)
        {
            // A copy that failed stored nothing: its prompt will be a miss, which is all a cache may cost.
        }
    }

    private void Add(Entry entry)
    {
        lock (gate)
        {
            for (var node = entries.First; node is not null;)
            {
                var next = node.Next;
                // The same adapter and a prefix of this prompt (the same prompt included): every match it gives, this gives.
                if (node.Value.Adapter == entry.Adapter && node.Value.Tokens.Length <= entry.Tokens.Length && Common(node.Value.Tokens, entry.Tokens) == node.Value.Tokens.Length)
                {
                    bytes -= node.Value.Bytes;
                    entries.Remove(node);
                }
                node = next;
            }
            while (bytes + entry.Bytes > CapacityBytes && entries.Last is { } oldest)
            {
                bytes -= oldest.Value.Bytes;
                entries.RemoveLast();
                Interlocked.Increment(ref evictions);
            }
            entries.AddFirst(entry);
            bytes += entry.Bytes;
        }
    }

    /// <summary>The bytes an entry of <paramref name="tokens"/> tokens takes: its ids and every layer's keys and values.</summary>
    public static long EntryBytes(DecoderSession session, int tokens) =>
        sizeof(int) * (long)tokens + session.LayerKvHeads.Sum(h => 2L * h * tokens * session.HeadDim * sizeof(float));

    private static int Common(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int n = 0, max = Math.Min(a.Count, b.Count);
        while (n < max && a[n] == b[n]) n++;
        return n;
    }

    /// <summary>One prompt's tokens and, per layer, its keys and values as [kvHeads, length, headDim].</summary>
    private sealed class Entry
    {
        public required string Adapter { get; init; }
        public required int[] Tokens { get; init; }
        public required float[][] Keys { get; init; }
        public required float[][] Values { get; init; }
        public required long Bytes { get; init; }

        public static Entry From(string adapter, int[] prompt, KvCache.View cache, DecoderSession session, long size)
        {
            int length = prompt.Length;
            float[] Copy(OrtValue value, int layer)
            {
                var target = new float[session.LayerKvHeads[layer] * length * session.HeadDim];
                var source = value.GetTensorDataAsSpan<float>();
                for (int h = 0; h < session.LayerKvHeads[layer]; h++)
                    source.Slice(h * cache.Stride * session.HeadDim, length * session.HeadDim).CopyTo(target.AsSpan(h * length * session.HeadDim));
                return target;
            }
            return new Entry
            {
                Adapter = adapter, Tokens = prompt, Bytes = size,
                Keys = Enumerable.Range(0, session.Layers).Select(l => Copy(cache.Keys[l], l)).ToArray(),
                Values = Enumerable.Range(0, session.Layers).Select(l => Copy(cache.Values[l], l)).ToArray(),
            };
        }

        /// <summary>Writes the first <paramref name="length"/> positions into an empty cache of <paramref name="session"/>.</summary>
        public void CopyTo(KvCache cache, DecoderSession session, int length)
        {
            int headDim = session.HeadDim;
            if (cache.Capacity is not null)
            {
                // A fused graph's cache: native buffers of the model's context, each head's rows at the buffer's stride.
                for (int layer = 0; layer < session.Layers; layer++)
                    foreach (var (source, target) in new[] { (Keys[layer], cache.Keys[layer]), (Values[layer], cache.Values[layer]) })
                    {
                        var span = target.GetTensorMutableDataAsSpan<float>();
                        for (int h = 0; h < session.LayerKvHeads[layer]; h++)
                            source.AsSpan(h * Tokens.Length * headDim, length * headDim).CopyTo(span[(h * cache.Stride * headDim)..]);
                    }
                cache.Length = length;
                return;
            }
            // A standard graph's cache is the last run's present tensors, exactly [1, kvHeads, length, headDim].
            OrtValue Slice(float[] source, int layer)
            {
                int heads = session.LayerKvHeads[layer];
                var target = new float[heads * length * headDim];
                for (int h = 0; h < heads; h++)
                    source.AsSpan(h * Tokens.Length * headDim, length * headDim).CopyTo(target.AsSpan(h * length * headDim));
                return OrtValue.CreateTensorValueFromMemory(target, [1, heads, length, headDim]);
            }
            cache.Replace(
                Enumerable.Range(0, session.Layers).Select(l => Slice(Keys[l], l)).ToArray(),
                Enumerable.Range(0, session.Layers).Select(l => Slice(Values[l], l)).ToArray(), length);
        }
    }
}
