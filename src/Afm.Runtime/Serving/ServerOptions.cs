namespace Afm.Runtime.Serving;

public sealed record ServerOptions
{
    /// <summary>Kestrel URLs, e.g. http://127.0.0.1:5000 (port 0 picks a free port).</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:5000"];
    /// <summary>Generations running at once (each is one ORT Run at a time; ORT's own threads do the math).</summary>
    public int MaxConcurrent { get; init; } = 4;
    /// <summary>Requests allowed to wait for a slot; one more is answered 429 at once.</summary>
    public int QueueLimit { get; init; } = 32;
    /// <summary>Default completion length when a request gives none (the OpenAI API's default is 16).</summary>
    public int DefaultMaxTokens { get; init; } = 16;
}
