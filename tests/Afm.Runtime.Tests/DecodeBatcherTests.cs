using Afm.Runtime.Batching;
using Afm.Runtime.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Runtime.Tests;

/// <summary>
/// The batcher on the test artifact's real session. Its wait is long (a minute), so a run starts exactly when every member
/// of a group has submitted: the batches below do not depend on timing.
/// </summary>
public abstract class DecodeBatcherBehaviour(ArtifactFixture fixture)
{
    private static readonly BatchingOptions Lockstep = new() { MaxBatchSize = 8, MaxWait = TimeSpan.FromMinutes(1) };
    private DecoderSession Session => fixture.Model.Session;

    private long[] Prompt(string text) => fixture.Model.Generator.Tokenize(text).Select(i => (long)i).ToArray();

    /// <summary>Greedy tokens of one sequence decoded alone, one run per step.</summary>
    private List<long> Alone(long[] prompt, int steps, OrtLoraAdapter? adapter = null)
    {
        using var cache = Session.NewCache();
        var logits = Session.Forward(prompt, cache, adapter);
        var tokens = new List<long>();
        for (int i = 0; i < steps; i++)
        {
            tokens.Add(ArgMax(logits));
            logits = Session.Forward([tokens[^1]], cache, adapter);
        }
        return tokens;
    }

    private BatchedSequence Join(DecodeBatcher batcher, long[] prompt, int steps, string? adapterName, out float[] logits)
    {
        var adapter = adapterName is null ? null : fixture.Model.Adapters.Resolve(adapterName, "test").Handle;
        using var cache = Session.NewCache();
        logits = Session.Forward(prompt, cache, adapter);
        return batcher.Join(SequenceCache.From(cache, Session, prompt.Length + steps), adapterName, adapter);
    }

    /// <summary>Every sequence steps once per round, all submitted before any is awaited; greedy tokens per sequence.</summary>
    private static async Task<List<long>[]> Lockstepped(BatchedSequence[] sequences, float[][] logits, int steps)
    {
        var tokens = sequences.Select(_ => new List<long>()).ToArray();
        for (int step = 0; step < steps; step++)
        {
            var next = logits.Select(ArgMax).ToArray();
            for (int i = 0; i < sequences.Length; i++) tokens[i].Add(next[i]);
            logits = await Task.WhenAll(sequences.Select((s, i) => s.StepAsync(next[i])));
        }
        return tokens;
    }

    [Fact]
    public async Task Sequences_of_different_lengths_decoded_in_one_run_get_the_greedy_tokens_each_gets_alone()
    {
        using var batcher = new DecodeBatcher(Session, Lockstep);
        string[] prompts = ["Ada", "Bo reads a green book by the", "The kite is red. The book"];
        const int steps = 10;
        var sequences = new BatchedSequence[prompts.Length];
        var logits = new float[prompts.Length][];
        for (int i = 0; i < prompts.Length; i++) sequences[i] = Join(batcher, Prompt(prompts[i]), steps, null, out logits[i]);

        var tokens = await Lockstepped(sequences, logits, steps);

        for (int i = 0; i < prompts.Length; i++) Assert.Equal(Alone(Prompt(prompts[i]), steps), tokens[i]);
        Assert.Equal(steps, batcher.Runs);
        Assert.Equal(steps * prompts.Length, batcher.Steps);
        Assert.Equal(prompts.Length, batcher.LargestBatch);
        foreach (var s in sequences) s.Dispose();
    }

    [Fact]
    public async Task Sequences_with_different_adapters_never_share_a_run_and_each_keeps_its_adapter()
    {
        using var batcher = new DecodeBatcher(Session, Lockstep);
        (string Prompt, string? Adapter)[] requests = [("Ada has", null), ("Cy and Di", null), ("Bo reads", ArtifactAdapter)];
        const int steps = 6;
        var sequences = new BatchedSequence[requests.Length];
        var logits = new float[requests.Length][];
        for (int i = 0; i < requests.Length; i++) sequences[i] = Join(batcher, Prompt(requests[i].Prompt), steps, requests[i].Adapter, out logits[i]);

        var tokens = await Lockstepped(sequences, logits, steps);

        for (int i = 0; i < requests.Length; i++)
        {
            var adapter = requests[i].Adapter is { } name ? fixture.Model.Adapters.Resolve(name, "test").Handle : null;
            Assert.Equal(Alone(Prompt(requests[i].Prompt), steps, adapter), tokens[i]);
        }
        Assert.Equal(2 * steps, batcher.Runs); // one run of the two base sequences and one of the adapter's, per step
        Assert.Equal(2, batcher.LargestBatch);
        foreach (var s in sequences) s.Dispose();
    }

    [Fact]
    public async Task A_batch_never_exceeds_the_maximum_size()
    {
        using var batcher = new DecodeBatcher(Session, Lockstep with { MaxBatchSize = 2 });
        const int steps = 5;
        var logits = new float[3][];
        var sequences = Enumerable.Range(0, 3).Select(i => Join(batcher, Prompt("Ed counts"), steps, null, out logits[i])).ToArray();

        // Each sequence steps on its own, as generations do: the one left out of a full run joins the next one.
        async Task<List<long>> Generate(int i)
        {
            var tokens = new List<long>();
            var current = logits[i];
            for (int step = 0; step < steps; step++)
            {
                tokens.Add(ArgMax(current));
                current = await sequences[i].StepAsync(tokens[^1]);
            }
            sequences[i].Dispose();
            return tokens;
        }
        var tokens = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Task.Run(() => Generate(i))));

        Assert.Equal(2, batcher.LargestBatch);
        Assert.Equal(3 * steps, batcher.Steps);
        Assert.All(tokens, t => Assert.Equal(Alone(Prompt("Ed counts"), steps), t));
    }

    [Fact]
    public async Task A_cancelled_step_is_withdrawn_before_it_runs()
    {
        using var batcher = new DecodeBatcher(Session, Lockstep);
        using var waiting = Join(batcher, Prompt("Ada"), 4, null, out _);
        using var idle = Join(batcher, Prompt("Bo"), 4, null, out _);
        using var cancel = new CancellationTokenSource();

        var step = waiting.StepAsync(5, cancel.Token); // waits for `idle`, which never submits
        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => step);
        Assert.Equal(0, batcher.Runs);
    }

    [Fact]
    public async Task A_member_that_leaves_no_longer_holds_back_the_others()
    {
        using var batcher = new DecodeBatcher(Session, Lockstep);
        using var staying = Join(batcher, Prompt("Ada"), 4, null, out var logits);
        var leaving = Join(batcher, Prompt("Bo"), 4, null, out _);

        var step = staying.StepAsync(ArgMax(logits));
        Assert.False(step.IsCompleted);
        leaving.Dispose();

        Assert.Equal(Session.VocabSize, (await step).Length);
        Assert.Equal(1, batcher.Runs);
    }

    private const string ArtifactAdapter = TestArtifact.Adapter;

    private static long ArgMax(float[] logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}

public sealed class DecodeBatcherTests(ArtifactFixture fixture) : DecodeBatcherBehaviour(fixture), IClassFixture<ArtifactFixture>;

/// <summary>The same behaviour on the fused graph, whose cache is a buffer written in place.</summary>
public sealed class FusedGraphDecodeBatcherTests(FusedArtifactFixture fixture) : DecodeBatcherBehaviour(fixture), IClassFixture<FusedArtifactFixture>;
