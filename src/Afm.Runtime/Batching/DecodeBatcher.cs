using System.Diagnostics;
using Afm.Runtime.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Runtime.Batching;

/// <summary>
/// Continuous batching of decode steps: generations that have prefilled their prompt join (<see cref="Join"/>), submit
/// one token per step, and leave when they end; between two runs the set changes freely. A run holds the waiting steps
/// of one adapter group (an ONNX Runtime run has one active adapter set), oldest group first, at most
/// <see cref="BatchingOptions.MaxBatchSize"/> steps. A group runs once every member has submitted its next step (or the
/// batch is full), or when its oldest step has waited <see cref="BatchingOptions.MaxWait"/>: so members that stream
/// their text between steps stay in lockstep instead of drifting into alternating runs of one, and a slow reader
/// delays the others by at most that wait. Sampling, stop conditions and streaming stay in each generation.
/// The step that completes a group runs the batch on its own thread (a lone request pays no thread switch per token,
/// which on a loaded machine cost more than the run: measured 274 vs 754 tokens/s for one sequence when a dedicated
/// thread ran every batch); a background thread runs only the batches whose wait ran out or whose group a leaving
/// member completed.
/// </summary>
public sealed class DecodeBatcher : IDisposable
{
    private readonly DecoderSession session;
    private readonly BatchingOptions options;
    private readonly object gate = new();
    private readonly HashSet<BatchedSequence> members = [];
    private readonly List<Step> pending = [];
    private readonly Thread thread;
    private bool stopped;
    private long runs, steps;
    private int largest;

    public DecodeBatcher(DecoderSession session, BatchingOptions options)
    {
        if (!session.SupportsBatching)
            throw new ArgumentException("This model.onnx has no attention_mask input (exported before batching existed); it cannot batch decode steps.");
        if (options.MaxBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxBatchSize must be at least 1.");
        this.session = session;
        this.options = options;
        thread = new Thread(Loop) { IsBackground = true, Name = "afm-decode-batcher" };
        thread.Start();
    }

    /// <summary>Batched runs made so far.</summary>
    public long Runs => Interlocked.Read(ref runs);
    /// <summary>Decode steps (one token of one sequence) made so far; Steps / Runs is the mean batch size.</summary>
    public long Steps => Interlocked.Read(ref steps);
    /// <summary>Sequences that have joined and not yet left.</summary>
    public int Members
    {
        get { lock (gate) return members.Count; }
    }
    /// <summary>The most steps one run has held.</summary>
    public int LargestBatch => Volatile.Read(ref largest);

    /// <summary>A prefilled sequence joins; <paramref name="adapterName"/> (null: the base) decides which sequences it may share a run with.</summary>
    public BatchedSequence Join(SequenceCache cache, string? adapterName, OrtLoraAdapter? adapter)
    {
        var sequence = new BatchedSequence(this, cache, adapterName ?? "", adapter);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(stopped, this);
            members.Add(sequence);
        }
        return sequence;
    }

    internal Task<float[]> Submit(BatchedSequence sequence, long token, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var step = new Step(sequence, token, Stopwatch.GetTimestamp());
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(stopped, this);
            if (!members.Contains(sequence)) throw new InvalidOperationException("The sequence has left the batcher.");
            pending.Add(step);
        }
        // A step not yet taken into a run is withdrawn; one already running completes and is then ignored by its generation.
        step.Registration = cancellationToken.Register(() => Withdraw(step, cancellationToken));
        List<Step>? batch;
        lock (gate)
        {
            batch = NextBatch(out _);
            // Left waiting: the background thread must know its deadline. Not pulsed otherwise: waking it every step for
            // nothing costs a thread switch per token, which a loaded machine makes expensive.
            if (batch is null) Monitor.PulseAll(gate);
        }
        if (batch is not null) Execute(batch);
        return step.Done.Task;
    }

    internal void Leave(BatchedSequence sequence)
    {
        lock (gate)
        {
            if (!members.Remove(sequence)) return;
            foreach (var step in pending.Where(s => s.Sequence == sequence).ToList())
            {
                pending.Remove(step);
                step.Done.TrySetCanceled();
            }
            Monitor.PulseAll(gate); // the group may now be complete without it
        }
    }

    private void Withdraw(Step step, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (pending.Remove(step)) step.Done.TrySetCanceled(cancellationToken);
        }
    }

    private void Loop()
    {
        while (true)
        {
            List<Step> batch;
            lock (gate)
            {
                while (true)
                {
                    if (stopped)
                    {
                        foreach (var step in pending) step.Done.TrySetException(new ObjectDisposedException(nameof(DecodeBatcher)));
                        pending.Clear();
                        return;
                    }
                    var next = NextBatch(out var wait);
                    if (next is not null) { batch = next; break; }
                    if (wait is { } timeout) Monitor.Wait(gate, timeout);
                    else Monitor.Wait(gate);
                }
            }
            Execute(batch);
        }
    }

    /// <summary>The steps of the ready group whose oldest step is oldest, or null and how long until a group's wait runs out.</summary>
    private List<Step>? NextBatch(out TimeSpan? wait)
    {
        wait = null;
        if (pending.Count == 0) return null;
        long now = Stopwatch.GetTimestamp();
        string? chosen = null;
        long chosenSince = long.MaxValue;
        foreach (var group in pending.GroupBy(s => s.Sequence.Group))
        {
            int active = members.Count(m => m.Group == group.Key);
            long oldest = group.Min(s => s.Since);
            var waited = Stopwatch.GetElapsedTime(oldest, now);
            bool ready = group.Count() >= Math.Min(options.MaxBatchSize, active) || waited >= options.MaxWait;
            if (ready && oldest < chosenSince) (chosen, chosenSince) = (group.Key, oldest);
            if (!ready && (wait is null || options.MaxWait - waited < wait)) wait = options.MaxWait - waited;
        }
        if (chosen is null) return null;
        var batch = pending.Where(s => s.Sequence.Group == chosen).Take(options.MaxBatchSize).ToList();
        foreach (var step in batch) pending.Remove(step);
        return batch;
    }

    private void Execute(List<Step> batch)
    {
        foreach (var step in batch) step.Registration.Dispose();
        try
        {
            var logits = BatchedDecodeStep.Run(session, batch.Select(s => s.Sequence.Cache).ToList(), batch.Select(s => s.Token).ToList(), batch[0].Sequence.Adapter);
            Interlocked.Increment(ref runs);
            Interlocked.Add(ref steps, batch.Count);
            for (int seen = Volatile.Read(ref largest); batch.Count > seen; seen = Volatile.Read(ref largest))
                if (Interlocked.CompareExchange(ref largest, batch.Count, seen) == seen) break;
            for (int i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(logits[i]);
        }
        catch (Exception e)
        {
            foreach (var step in batch) step.Done.TrySetException(e);
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (stopped) return;
            stopped = true;
            Monitor.PulseAll(gate);
        }
        thread.Join();
    }

    private sealed class Step(BatchedSequence sequence, long token, long since)
    {
        public BatchedSequence Sequence { get; } = sequence;
        public long Token { get; } = token;
        public long Since { get; } = since;
        public TaskCompletionSource<float[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration { get; set; }
    }
}

/// <summary>A generation's membership in a <see cref="DecodeBatcher"/>: its cache, its adapter group, its steps. Dispose to leave.</summary>
public sealed class BatchedSequence : IDisposable
{
    private readonly DecodeBatcher batcher;

    internal BatchedSequence(DecodeBatcher batcher, SequenceCache cache, string group, OrtLoraAdapter? adapter)
    {
        this.batcher = batcher;
        Cache = cache;
        Group = group;
        Adapter = adapter;
    }

    public SequenceCache Cache { get; }
    /// <summary>The adapter's name ("" for the base): only sequences of one group share a run.</summary>
    public string Group { get; }
    internal OrtLoraAdapter? Adapter { get; }

    /// <summary>Runs <paramref name="token"/> after the cache in the next run of this sequence's group; the next position's logits.</summary>
    public Task<float[]> StepAsync(long token, CancellationToken cancellationToken = default) => batcher.Submit(this, token, cancellationToken);

    public void Dispose() => batcher.Leave(this);
}
