using Afm.Runtime.Generation;

namespace Afm.Runtime.Tests;

public sealed class SamplerTests
{
    private static readonly float[] Logits = [0.1f, 2.0f, -1f, 1.9f, 0.5f];

    [Fact]
    public void Temperature_zero_is_argmax() =>
        Assert.Equal(1, new Sampler(SamplingOptions.Greedy).Next(Logits));

    [Fact]
    public void Top_k_of_one_is_argmax_at_any_temperature() =>
        Assert.All(Enumerable.Range(0, 50), seed => Assert.Equal(1, new Sampler(new() { Temperature = 5, TopK = 1, Seed = seed }).Next(Logits)));

    [Fact]
    public void A_tiny_top_p_keeps_only_the_most_likely_token() =>
        Assert.All(Enumerable.Range(0, 50), seed => Assert.Equal(1, new Sampler(new() { Temperature = 1, TopP = 0.01, Seed = seed }).Next(Logits)));

    [Fact]
    public void Top_k_two_only_ever_picks_the_two_best()
    {
        var sampler = new Sampler(new() { Temperature = 10, TopK = 2, Seed = 4 });
        var picks = Enumerable.Range(0, 400).Select(_ => sampler.Next(Logits)).ToHashSet();
        Assert.Equal(new HashSet<int> { 1, 3 }, picks);
    }

    [Fact]
    public void The_same_seed_gives_the_same_tokens()
    {
        var a = new Sampler(new() { Temperature = 1.5, Seed = 9 });
        var b = new Sampler(new() { Temperature = 1.5, Seed = 9 });
        Assert.Equal(Enumerable.Range(0, 100).Select(_ => a.Next(Logits)), Enumerable.Range(0, 100).Select(_ => b.Next(Logits)));
    }

    [Fact]
    public void High_temperature_sampling_reaches_every_token()
    {
        var sampler = new Sampler(new() { Temperature = 100, Seed = 1 });
        Assert.Equal(5, Enumerable.Range(0, 500).Select(_ => sampler.Next(Logits)).Distinct().Count());
    }

    // Id 1 (the best logit) suppressed, as the runtime suppresses a tokenizer's reserved ids.
    private static readonly TokenSuppression WithoutBest = new(Logits.Length, [1]);

    [Fact]
    public void Greedy_skips_a_suppressed_argmax_for_the_best_allowed_id() =>
        Assert.Equal(3, new Sampler(SamplingOptions.Greedy, WithoutBest).Next(Logits));

    [Fact]
    public void Sampling_at_any_temperature_never_picks_a_suppressed_id()
    {
        var sampler = new Sampler(new() { Temperature = 100, Seed = 1 }, WithoutBest);
        var picks = Enumerable.Range(0, 500).Select(_ => sampler.Next(Logits)).ToHashSet();
        Assert.Equal(new HashSet<int> { 0, 2, 3, 4 }, picks);
    }

    [Fact]
    public void Top_k_and_top_p_count_only_allowed_ids()
    {
        Assert.All(Enumerable.Range(0, 50), seed => Assert.Equal(3, new Sampler(new() { Temperature = 5, TopK = 1, Seed = seed }, WithoutBest).Next(Logits)));
        Assert.All(Enumerable.Range(0, 50), seed => Assert.Equal(3, new Sampler(new() { Temperature = 1, TopP = 0.01, Seed = seed }, WithoutBest).Next(Logits)));
    }

    [Fact]
    public void A_suppressed_id_with_an_overwhelming_logit_is_never_sampled()
    {
        float[] logits = [0f, 1000f, 0f, 0f];
        var sampler = new Sampler(new() { Temperature = 1, Seed = 2 }, new TokenSuppression(logits.Length, [1]));
        Assert.DoesNotContain(1, Enumerable.Range(0, 200).Select(_ => sampler.Next(logits)));
    }

    [Fact]
    public void Logits_of_another_vocabulary_size_are_refused() =>
        Assert.Throws<ArgumentException>(() => new Sampler(SamplingOptions.Greedy, WithoutBest).Next(new float[4]));
}
