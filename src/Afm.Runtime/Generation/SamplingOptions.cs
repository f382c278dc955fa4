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

    /// <summary>The OpenAI API's range for both penalties.</summary>
    public const double MaxPenalty = 2.0;

    /// <summary>The OpenAI API's range for a logit bias: -100 bans a token, 100 makes it all but certain.</summary>
    public const double MaxLogitBias = 100.0;

    /// <summary>Subtracted once from the logit of every token already generated (<see cref="LogitAdjustment"/>); -2 to 2.</summary>
    public double PresencePenalty { get; init; }

    /// <summary>Subtracted from a token's logit once per time it was generated; -2 to 2.</summary>
    public double FrequencyPenalty { get; init; }

    /// <summary>Added to the logits of these token ids before every choice; each -100 to 100.</summary>
    public IReadOnlyDictionary<int, double> LogitBias { get; init; } = new Dictionary<int, double>();

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
    /// <summary>The scale <see cref="Adapter"/> runs at (llama-server's per-request LoRA scale): 1 as trained, 0 off, up to ±<see cref="Adapters.AdapterSet.MaxScale"/>.</summary>
    public double AdapterScale { get; init; } = 1;
    /// <summary>
    /// Report each generated token's log-probability with this many most likely alternatives (0: the chosen token
    /// only); null reports none. At most <see cref="MaxTopLogprobs"/>.
    /// </summary>
    public int? TopLogprobs { get; init; }
    /// <summary>
    /// The language the output must belong to, as its automaton's start state (<see cref="Constraints.JsonState"/>: any
    /// JSON object; <see cref="Constraints.SchemaState"/>: JSON valid against a schema), enforced by constrained decoding
    /// (<see cref="Constraints.TokenConstraint"/>); null for free text.
    /// </summary>
    public Constraints.ITextAutomaton? Constraint { get; init; }
    /// <summary>Also report the log-probability of every prompt token after the first (the OpenAI API's echo with logprobs).</summary>
    public bool PromptLogprobs { get; init; }
    /// <summary>The OpenAI API's limit on top_logprobs.</summary>
    public const int MaxTopLogprobs = 20;
    /// <summary>The largest MaxTokens accepted: a request above it is a mistake, not a long generation.</summary>
    public const int MaxTokensLimit = 65_536;
}
