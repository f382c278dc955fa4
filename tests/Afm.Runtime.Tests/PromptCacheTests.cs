using Afm.Runtime.Generation;
using Afm.Runtime.Sessions;

namespace Afm.Runtime.Tests;

/// <summary>
/// Generations with a <see cref="PromptCache"/> against the same generations without one, on the test artifact's random
/// model: the same greedy tokens, and log-probabilities equal within float rounding (a reused key/value was computed in a
/// run of another length, so it may differ in the last bits).
/// </summary>
public abstract class PromptCacheBehaviour(ArtifactFixture fixture)
{
    private const string System = "Answer briefly about kites and boats. ";

    private TextGenerator Generator(PromptCache? cache) =>
        new(fixture.Model.Session, fixture.Model.Tokenizer, fixture.Model.Adapters, endIds: fixture.Model.EndIds, promptCache: cache);

    private static async Task<List<TokenLogprob>> Generate(TextGenerator generator, string prompt, string? adapter = null)
    {
        var options = new GenerationOptions { MaxTokens = 6, Sampling = SamplingOptions.Greedy, TopLogprobs = 0, Adapter = adapter, StopAtEndOfDocument = false };
        var tokens = new List<TokenLogprob>();
        await foreach (var chunk in generator.GenerateAsync(prompt, options))
            if (chunk.Logprobs is not null) tokens.AddRange(chunk.Logprobs);
        return tokens;
    }

    private static void AssertSame(List<TokenLogprob> expected, List<TokenLogprob> actual)
    {
        Assert.Equal(expected.Select(t => t.Id), actual.Select(t => t.Id));
        for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i].Logprob, actual[i].Logprob, 4);
    }

    [Fact]
    public async Task A_chat_reusing_its_earlier_turns_generates_what_it_generates_without_the_cache()
    {
        var cache = new PromptCache(64 << 20);
        var cached = Generator(cache);
        var plain = Generator(null);
        string[] turns = [System + "User: the kite?", System + "User: the kite?\nAssistant: red.\nUser: the boat?", System + "User: the kite?\nAssistant: red.\nUser: the boat?\nAssistant: blue.\nUser: and the lamp?"];
        foreach (var turn in turns) AssertSame(await Generate(plain, turn), await Generate(cached, turn));
        Assert.Equal(1, cache.Misses);
        Assert.Equal(2, cache.Hits);
        cache.WaitForStores(); // stores are copied in the background; counts of entries are read once they are in
        Assert.Equal(1, cache.Entries); // each turn extends the one before, which it replaces
    }

    [Fact]
    public async Task A_prompt_sharing_only_part_of_a_cached_prompt_reuses_that_part_and_generates_the_same()
    {
        var cache = new PromptCache(64 << 20);
        var cached = Generator(cache);
        await Generate(cached, System + "User: the kite?");
        long reused = cache.ReusedTokens;
        AssertSame(await Generate(Generator(null), System + "User: the gold boat?"), await Generate(cached, System + "User: the gold boat?"));
        Assert.Equal(1, cache.Hits);
        // At least the system prompt (but a token at its end may merge with what follows), less than the shorter prompt.
        Assert.InRange(cache.ReusedTokens - reused, fixture.Model.Generator.Tokenize(System).Count - 2, fixture.Model.Generator.Tokenize(System + "User: the kite?").Count - 1);
        cache.WaitForStores();
        Assert.Equal(2, cache.Entries);
    }

    [Fact]
    public async Task An_entry_is_reused_only_under_the_adapter_it_was_computed_with()
    {
        var cache = new PromptCache(64 << 20);
        var cached = Generator(cache);
        await Generate(cached, System + "User: the kite?");
        AssertSame(await Generate(Generator(null), System + "User: the kite?", TestArtifact.Adapter), await Generate(cached, System + "User: the kite?", TestArtifact.Adapter));
        Assert.Equal(0, cache.Hits);
        AssertSame(await Generate(Generator(null), System + "User: the boat?", TestArtifact.Adapter), await Generate(cached, System + "User: the boat?", TestArtifact.Adapter));
        Assert.Equal(1, cache.Hits);
    }

    [Fact]
    public void A_shared_view_keeps_the_prompt_while_the_generation_goes_on()
    {
        // The prompt cache copies a prompt in the background from such a view: a standard graph's next run replaces (and
        // once disposed) the tensors, a fused graph's writes the positions after the prompt.
        var session = fixture.Model.Session;
        using var cache = session.NewCache();
        session.Forward(fixture.Model.Generator.Tokenize(System).Select(i => (long)i).ToArray(), cache);
        var view = cache.Share();
        float[] Prompt() => [.. Enumerable.Range(0, session.LayerKvHeads[0]).SelectMany(h =>
            view.Keys[0].GetTensorDataAsSpan<float>().Slice(h * view.Stride * session.HeadDim, view.Length * session.HeadDim).ToArray())];
        var before = Prompt();
        for (int i = 0; i < 3; i++) session.Forward([5], cache);
        Assert.Equal(before, Prompt());
        view.Dispose();
        view.Dispose(); // releases once: the cache's own tensors stay usable
        Assert.Equal(session.VocabSize, session.Forward([5], cache).Length);
    }

    [Fact]
    public async Task The_least_recently_used_entry_is_evicted_to_stay_within_the_bound()
    {
        var session = fixture.Model.Session;
        string a = System + "User: 1?", b = "Ada has a red kite and a blue boat. Bo reads a green book by the lamp. User: 2?";
        int lengthA = fixture.Model.Generator.Tokenize(a).Count, lengthB = fixture.Model.Generator.Tokenize(b).Count;
        Assert.True(lengthB > lengthA);
        var cache = new PromptCache(PromptCache.EntryBytes(session, lengthA) + PromptCache.EntryBytes(session, lengthB) + 16);
        var cached = Generator(cache);
        await Generate(cached, a);
        await Generate(cached, b);
        cache.WaitForStores();
        Assert.Equal(0, cache.Evictions);
        await Generate(cached, System + "User: 3?"); // reuses a (now the most recently used) and needs room: b goes
        cache.WaitForStores();
        Assert.Equal(1, cache.Evictions);
        Assert.True(cache.Bytes <= cache.CapacityBytes);
        long misses = cache.Misses;
        await Generate(cached, b + " And then?");
        Assert.Equal(misses + 1, cache.Misses);
    }
}

public sealed class PromptCacheTests(ArtifactFixture fixture) : PromptCacheBehaviour(fixture), IClassFixture<ArtifactFixture>;

/// <summary>The fused graph's cache is a preallocated native buffer per layer: restoring writes into it at its stride.</summary>
public sealed class FusedGraphPromptCacheTests(FusedArtifactFixture fixture) : PromptCacheBehaviour(fixture), IClassFixture<FusedArtifactFixture>;
