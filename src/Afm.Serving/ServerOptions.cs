namespace Afm.Serving;

public sealed record ServerOptions
{
    /// <summary>The batcher's own defaults, so the server's batching settings cannot drift from them.</summary>
    private static readonly Afm.Runtime.Batching.BatchingOptions BatchingDefaults = new();

    /// <summary>Kestrel URLs, e.g. http://127.0.0.1:5000 (port 0 picks a free port).</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:5000"];
    /// <summary>Generations running at once; their decode steps share batched runs (<see cref="MaxBatchSize"/>), so the default matches it.</summary>
    public int MaxConcurrent { get; init; } = BatchingDefaults.MaxBatchSize;
    /// <summary>Requests allowed to wait for a slot; one more is answered 429 at once.</summary>
    public int QueueLimit { get; init; } = 32;
    /// <summary>
    /// The largest request body in bytes; a larger one is answered 413 by Kestrel before it is read. 1 MiB holds a prompt
    /// far longer than any context an afm model has (tokens take 1-4 bytes of text each), so the bound costs a user
    /// nothing, while it caps what one request can make the server buffer and tokenize.
    /// </summary>
    public long MaxRequestBytes { get; init; } = 1 << 20;
    /// <summary>Default completion length when a request gives none (the OpenAI API's default is 16).</summary>
    public int DefaultMaxTokens { get; init; } = 16;
    /// <summary>
    /// The most generations whose decode steps share one ONNX Runtime run (continuous batching, <see cref="Afm.Runtime.Batching.DecodeBatcher"/>).
    /// 1 turns batching off: each generation runs its own steps, concurrently on the shared session. A model.onnx exported
    /// before the attention_mask input existed is served unbatched whatever this says.
    /// </summary>
    public int MaxBatchSize { get; init; } = BatchingDefaults.MaxBatchSize;
    /// <summary>
    /// A Jinja chat template that renders chat requests instead of the artifact's own (its tokenizer_config.json's
    /// <c>chat_template</c>); <c>afm serve --chat-template-file</c>. Null: the artifact's, else the plain transcript.
    /// </summary>
    public string? ChatTemplate { get; init; }
    /// <summary>How long a decode step waits for the rest of its batch before running without it (<see cref="Afm.Runtime.Batching.BatchingOptions.MaxWait"/>).</summary>
    public TimeSpan BatchWait { get; init; } = BatchingDefaults.MaxWait;
    /// <summary>
    /// Bytes of key/value state kept from earlier prompts (<see cref="Afm.Runtime.Sessions.PromptCache"/>): a prompt that
    /// starts like one of them prefills only the rest. 0 turns the cache off. 256 MiB holds about 400 prompts of 300
    /// tokens of the sample model (0.6 MiB each), or 10k tokens of a 0.5B model with 24 layers of two 64-wide key/value heads.
    /// </summary>
    public long PromptCacheBytes { get; init; } = 256L << 20;
    /// <summary>
    /// When set, every request but GET /healthz and CORS preflights needs <c>Authorization: Bearer</c> this key (401
    /// otherwise, <see cref="ApiKeyCheck"/>). <c>afm serve</c> reads it from <c>--api-key</c> or, so that it is not in the
    /// process list, the AFM_API_KEY environment variable.
    /// </summary>
    public string? ApiKey { get; init; }
    /// <summary>Origins a browser page may call the API from (CORS; <c>*</c> for any); none: no CORS headers are sent.</summary>
    public IReadOnlyList<string> CorsOrigins { get; init; } = [];
}
