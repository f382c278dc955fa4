using Afm.Core.Diagnostics;
using Afm.Runtime.Generation;

namespace Afm.Runtime.Tests;

public sealed class TextGeneratorTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    private static async Task<(string Text, GenerationChunk Last, int Chunks)> Collect(IAsyncEnumerable<GenerationChunk> stream)
    {
        var text = new System.Text.StringBuilder();
        GenerationChunk? last = null;
        int chunks = 0;
        await foreach (var chunk in stream) { text.Append(chunk.Text); last = chunk; chunks++; }
        return (text.ToString(), last!, chunks);
    }

    [Fact]
    public async Task Greedy_generation_is_deterministic_and_honours_max_tokens()
    {
        var options = new GenerationOptions { MaxTokens = 12, Sampling = SamplingOptions.Greedy };
        var first = await Collect(fixture.Model.Generator.GenerateAsync("Ada has a", options));
        var second = await Collect(fixture.Model.Generator.GenerateAsync("Ada has a", options));
        Assert.Equal(first.Text, second.Text);
        Assert.NotNull(first.Last.Stats);
        Assert.True(first.Last.Stats!.CompletionTokens <= 12);
        if (first.Last.Finish == FinishReason.Length) Assert.Equal(12, first.Last.Stats.CompletionTokens);
    }

    [Fact]
    public async Task Streamed_chunks_concatenate_to_the_decoded_completion()
    {
        var options = new GenerationOptions { MaxTokens = 20, Sampling = new SamplingOptions { Temperature = 1, Seed = 3 } };
        var (text, last, chunks) = await Collect(fixture.Model.Generator.GenerateAsync("The kite", options));
        Assert.True(chunks > 1);
        Assert.NotNull(last.Finish);
        Assert.Equal(fixture.Model.Tokenizer.Decode(last.Stats!.CompletionIds), text);
    }

    [Fact]
    public async Task A_stop_sequence_ends_generation_before_it()
    {
        var greedy = new GenerationOptions { MaxTokens = 30, Sampling = SamplingOptions.Greedy };
        var (full, _, _) = await Collect(fixture.Model.Generator.GenerateAsync("Bo reads", greedy));
        Assert.True(full.Length >= 6, $"completion too short to pick a stop sequence: '{full}'");
        var stop = full.Substring(3, 3);
        var (stopped, last, _) = await Collect(fixture.Model.Generator.GenerateAsync("Bo reads", greedy with { StopSequences = [stop] }));
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], stopped);
        Assert.Equal(FinishReason.Stop, last.Finish);
    }

    [Fact]
    public async Task An_imported_models_eos_ids_end_generation_like_the_end_of_document_token()
    {
        var greedy = new GenerationOptions { MaxTokens = 12, Sampling = SamplingOptions.Greedy };
        var full = (await Collect(fixture.Model.Generator.GenerateAsync("Ada has a", greedy))).Last.Stats!.CompletionIds;
        Assert.True(full.Count >= 3, "completion too short to pick an eos id");
        int eos = full[2];
        var withEos = new TextGenerator(fixture.Model.Session, fixture.Model.Tokenizer, fixture.Model.Adapters, endIds: [eos + 1000, eos]);
        var stopped = (await Collect(withEos.GenerateAsync("Ada has a", greedy))).Last;
        Assert.Equal(FinishReason.Stop, stopped.Finish);
        Assert.Equal(full.Take(full.ToList().IndexOf(eos)), stopped.Stats!.CompletionIds);
    }

    [Fact]
    public async Task Same_seed_same_sampled_text()
    {
        var options = new GenerationOptions { MaxTokens = 16, Sampling = new SamplingOptions { Temperature = 0.9, TopK = 20, TopP = 0.9, Seed = 77 } };
        var a = await Collect(fixture.Model.Generator.GenerateAsync("Cy and", options));
        var b = await Collect(fixture.Model.Generator.GenerateAsync("Cy and", options));
        Assert.Equal(a.Text, b.Text);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10_000_000)]
    public async Task Absurd_max_tokens_is_AFM7004(int maxTokens)
    {
        var error = await Assert.ThrowsAsync<DiagnosticException>(async () =>
            await Collect(fixture.Model.Generator.GenerateAsync("x", new GenerationOptions { MaxTokens = maxTokens })));
        Assert.Equal("AFM7004", error.Diagnostic.Code);
    }

    [Fact]
    public async Task Generation_stops_at_the_context_length()
    {
        var options = new GenerationOptions { MaxTokens = 1000, Sampling = SamplingOptions.Greedy };
        var (_, last, _) = await Collect(fixture.Model.Generator.GenerateAsync("Ed counts", options));
        Assert.True(last.Stats!.PromptTokens + last.Stats.CompletionTokens <= fixture.Model.Session.MaxSequenceLength);
    }
}
