namespace Afm.Runtime.Generation;

/// <summary>How the next token is chosen. Temperature 0 is greedy (argmax); TopK 0 and TopP 1 switch those filters off.</summary>
public sealed record SamplingOptions
{
    /// <summary>The OpenAI API's range: above 2 the distribution is close to uniform, so a larger value is a mistake.</summary>
    public const double MaxTemperature = 2.0;

    public double Temperature { get; init; } = 1.0;
    public int TopK { get; init; }
    public double TopP { get; init; } = 1.0;
    /// <summary>
    /// The sampler's seed: the same seed, options and model give the same text. Null (the default, as in the OpenAI
    /// API) draws a fresh seed per generation, so repeated requests give different samples.
    /// </summary>
    public long? Seed { get; init; }

    public static SamplingOptions Greedy { get; } = new() { Temperature = 0 };
}

public sealed record GenerationOptions
{
    public int MaxTokens { get; init; } = 128;
    public SamplingOptions Sampling { get; init; } = new();
    /// <summary>Generation ends before the first occurrence of any of these; the stop text is not returned.</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];
    /// <summary>
    /// End at the end-of-document token (default). Off, generation always runs MaxTokens (benchmarks that compare
    /// runtimes token for token).
    /// </summary>
    public bool StopAtEndOfDocument { get; init; } = true;
    /// <summary>An adapter of the artifact to activate for this generation (null: the base model).</summary>
    public string? Adapter { get; init; }
    /// <summary>The largest MaxTokens accepted: a request above it is a mistake, not a long generation.</summary>
    public const int MaxTokensLimit = 65_536;
}
