using System.Text;
using Afm.Runtime.Generation;

namespace Afm.Runtime.Tests;

/// <summary>
/// An artifact whose logits favour three reserved ids most, then the project's special token "&lt;eos&gt;" (id 1), at
/// every position: what an untrained reserved row can do to a real model, made certain.
/// </summary>
public sealed class FavouredReservedFixture() : ArtifactFixture(new TestArtifactOptions(
    VocabSize: 400, SpecialTokens: [DeclaredSpecial],
    Favoured: new Dictionary<int, float> { [399] = 3.0f, [390] = 2.7f, [385] = 2.4f, [1] = 2.0f }))
{
    public const string DeclaredSpecial = "<eos>";
    public static readonly int[] FavouredReserved = [399, 390, 385];
}

/// <summary>An artifact whose logits favour a reserved id, then the end-of-document token (id 0).</summary>
public sealed class FavouredEndOfDocumentFixture() : ArtifactFixture(new TestArtifactOptions(
    VocabSize: 400, Favoured: new Dictionary<int, float> { [399] = 3.0f, [0] = 2.0f }));

public sealed class ReservedTokenTests(FavouredReservedFixture fixture) : IClassFixture<FavouredReservedFixture>
{
    private static async Task<(string Text, GenerationChunk Last)> Collect(IAsyncEnumerable<GenerationChunk> stream)
    {
        var text = new StringBuilder();
        GenerationChunk? last = null;
        await foreach (var chunk in stream) { text.Append(chunk.Text); last = chunk; }
        return (text.ToString(), last!);
    }

    private AfmModel Model => fixture.Model;
    private int FirstReserved => Model.Tokenizer.ReservedIds.GetOffsetAndLength(Model.Tokenizer.VocabSize).Offset;

    /// <summary>Greedy tokens chosen by hand from the session's raw logits, over all ids or only the allowed ones.</summary>
    private (List<int> Chosen, List<int> RawArgMax) ManualGreedy(string prompt, int tokens, bool allowedOnly)
    {
        using var cache = Model.Session.NewCache();
        var logits = Model.Session.Forward(Model.Generator.Tokenize(prompt).Select(i => (long)i).ToArray(), cache);
        List<int> chosen = [], raw = [];
        for (int step = 0; step < tokens; step++)
        {
            raw.Add(ArgMax(logits, _ => true));
            int next = ArgMax(logits, id => !allowedOnly || !Model.Generator.Suppression.IsSuppressed(id));
            chosen.Add(next);
            if (next == Model.Tokenizer.EndOfDocumentId) break;
            logits = Model.Session.Forward([next], cache);
        }
        return (chosen, raw);
    }

    private static int ArgMax(float[] logits, Func<int, bool> allowed)
    {
        int best = -1;
        for (int i = 0; i < logits.Length; i++) if (allowed(i) && (best < 0 || logits[i] > logits[best])) best = i;
        return best;
    }

    [Fact]
    public void The_suppressed_ids_are_exactly_the_tokenizers_reserved_padding()
    {
        var tokenizer = Model.Tokenizer;
        Assert.True(tokenizer.Manifest!.ReservedCount > 0);
        Assert.Equal(Enumerable.Range(FirstReserved, tokenizer.Manifest!.ReservedCount),
            Enumerable.Range(0, Model.Session.VocabSize).Where(Model.Generator.Suppression.IsSuppressed));
        // The manifest's count and the vocabulary's spellings agree: every suppressed id decodes to a reserved name.
        Assert.All(Enumerable.Range(FirstReserved, tokenizer.Manifest!.ReservedCount),
            id => Assert.StartsWith("<|reserved_", tokenizer.Decode([id])));
        Assert.All(FavouredReservedFixture.FavouredReserved, id => Assert.True(Model.Generator.Suppression.IsSuppressed(id)));
    }

    [Fact]
    public void The_end_of_document_token_and_declared_special_tokens_are_never_suppressed()
    {
        Assert.Equal(FavouredReservedFixture.DeclaredSpecial, Model.Tokenizer.Decode([1]));
        Assert.False(Model.Generator.Suppression.IsSuppressed(Model.Tokenizer.EndOfDocumentId));
        Assert.False(Model.Generator.Suppression.IsSuppressed(1));
    }

    [Fact]
    public async Task Greedy_generation_never_emits_a_reserved_id_the_logits_favour()
    {
        var (_, raw) = ManualGreedy("Ada has a", 8, allowedOnly: true);
        Assert.All(raw, id => Assert.Contains(id, FavouredReservedFixture.FavouredReserved)); // the model would pick them

        var (text, last) = await Collect(Model.Generator.GenerateAsync("Ada has a",
            new GenerationOptions { MaxTokens = 8, Sampling = SamplingOptions.Greedy, StopAtEndOfDocument = false }));
        Assert.NotEmpty(last.Stats!.CompletionIds);
        Assert.All(last.Stats.CompletionIds, id => Assert.True(id < FirstReserved, $"reserved id {id} generated"));
        Assert.DoesNotContain("<|reserved_", text);
    }

    [Theory]
    [InlineData(1.0, 0, 1.0)]
    [InlineData(2.0, 0, 1.0)]
    [InlineData(2.0, 3, 1.0)]
    [InlineData(1.0, 0, 0.9)]
    public async Task Sampled_generation_never_emits_a_reserved_id_the_logits_favour(double temperature, int topK, double topP)
    {
        for (int seed = 0; seed < 8; seed++)
        {
            var options = new GenerationOptions
            {
                MaxTokens = 8, StopAtEndOfDocument = false,
                Sampling = new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP, Seed = seed },
            };
            var (text, last) = await Collect(Model.Generator.GenerateAsync("Bo reads", options));
            Assert.All(last.Stats!.CompletionIds, id => Assert.True(id < FirstReserved, $"reserved id {id} generated (seed {seed})"));
            Assert.DoesNotContain("<|reserved_", text);
        }
    }

    [Fact]
    public async Task Greedy_picks_the_best_allowed_token_so_the_other_logits_are_untouched()
    {
        var (expected, _) = ManualGreedy("Cy and", 8, allowedOnly: true);
        var (_, last) = await Collect(Model.Generator.GenerateAsync("Cy and",
            new GenerationOptions { MaxTokens = 8, Sampling = SamplingOptions.Greedy, StopAtEndOfDocument = false }));
        Assert.Equal(expected, last.Stats!.CompletionIds);
    }

    [Fact]
    public async Task A_declared_special_token_next_in_line_is_generated_and_a_stop_sequence_on_it_ends_generation()
    {
        var greedy = new GenerationOptions { MaxTokens = 3, Sampling = SamplingOptions.Greedy, StopAtEndOfDocument = false };
        var (text, last) = await Collect(Model.Generator.GenerateAsync("Ed counts", greedy));
        Assert.Equal([1, 1, 1], last.Stats!.CompletionIds);
        Assert.Equal("<eos><eos><eos>", text);

        var (stopped, end) = await Collect(Model.Generator.GenerateAsync("Ed counts", greedy with { StopSequences = [FavouredReservedFixture.DeclaredSpecial] }));
        Assert.Equal("", stopped);
        Assert.Equal(FinishReason.Stop, end.Finish);
    }
}

public sealed class ReservedTokenEndOfDocumentTests(FavouredEndOfDocumentFixture fixture) : IClassFixture<FavouredEndOfDocumentFixture>
{
    [Fact]
    public async Task The_end_of_document_token_next_in_line_still_ends_generation()
    {
        GenerationChunk? last = null;
        await foreach (var chunk in fixture.Model.Generator.GenerateAsync("Ada has a", new GenerationOptions { MaxTokens = 8, Sampling = SamplingOptions.Greedy }))
            last = chunk;
        Assert.Equal(FinishReason.Stop, last!.Finish);
        Assert.Empty(last.Stats!.CompletionIds);
    }
}

/// <summary>The padded vocabulary of the tests above, with the random weights of the shared artifact (no favoured ids).</summary>
public sealed class PaddedVocabularyFixture() : ArtifactFixture(new TestArtifactOptions(VocabSize: 400));

/// <summary>
/// Suppression changes nothing greedy decoding picks while the raw argmax is not a reserved id: the completion equals
/// the raw argmax tokens up to the first step whose argmax is reserved (all of them when none is).
/// </summary>
public abstract class ReservedTokenBaselineTests(ArtifactFixture fixture)
{
    protected AfmModel Model { get; } = fixture.Model;

    [Theory]
    [InlineData("Ada has a")]
    [InlineData("The kite")]
    [InlineData("Ed counts 12")]
    public async Task Greedy_tokens_equal_the_raw_argmax_until_it_would_be_a_reserved_id(string prompt)
    {
        var model = Model;
        var raw = RawGreedy(model, prompt, 16);
        int firstReserved = raw.FindIndex(model.Generator.Suppression.IsSuppressed);
        var unchanged = firstReserved < 0 ? raw : raw[..firstReserved];

        GenerationChunk? last = null;
        await foreach (var chunk in model.Generator.GenerateAsync(prompt, new GenerationOptions { MaxTokens = 16, Sampling = SamplingOptions.Greedy, StopAtEndOfDocument = false }))
            last = chunk;
        Assert.Equal(unchanged, last!.Stats!.CompletionIds.Take(unchanged.Count));
        Assert.DoesNotContain(last.Stats.CompletionIds, model.Generator.Suppression.IsSuppressed);
    }

    /// <summary>Greedy tokens from the session's logits with no suppression (what the runtime did before it).</summary>
    internal static List<int> RawGreedy(AfmModel model, string prompt, int tokens)
    {
        using var cache = model.Session.NewCache();
        var logits = model.Session.Forward(model.Generator.Tokenize(prompt).Select(i => (long)i).ToArray(), cache);
        var raw = new List<int>();
        for (int step = 0; step < tokens; step++)
        {
            int next = Array.IndexOf(logits, logits.Max());
            raw.Add(next);
            if (step + 1 < tokens) logits = model.Session.Forward([next], cache);
        }
        return raw;
    }
}

/// <summary>The artifact the other runtime tests share.</summary>
public sealed class SharedArtifactBaselineTests(ArtifactFixture fixture) : ReservedTokenBaselineTests(fixture), IClassFixture<ArtifactFixture>
{
    [Fact]
    public void Its_raw_greedy_tokens_never_reach_a_reserved_id_so_existing_outputs_are_unchanged() =>
        Assert.All(["Ada has a", "The kite", "Ed counts 12", "Bo reads", "Cy and"],
            prompt => Assert.DoesNotContain(RawGreedy(Model, prompt, 30), Model.Generator.Suppression.IsSuppressed));
}

public sealed class PaddedVocabularyBaselineTests(PaddedVocabularyFixture fixture) : ReservedTokenBaselineTests(fixture), IClassFixture<PaddedVocabularyFixture>
{
    // Random weights give the never-trained reserved rows the same odds as any other: some prompt's raw argmax hits
    // one, which is how an untrained row leaks into generation.
    [Fact]
    public void Its_raw_greedy_tokens_reach_a_reserved_id_so_the_comparison_above_is_not_vacuous() =>
        Assert.Contains(new[] { "Ada has a", "The kite", "Ed counts 12" }.SelectMany(p => RawGreedy(Model, p, 16)), Model.Generator.Suppression.IsSuppressed);
}
