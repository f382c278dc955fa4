namespace Afm.Runtime.Generation;

public enum FinishReason { Stop, Length }

/// <summary>Counts and timings of one generation; decode tokens/s excludes the prompt (prefill).</summary>
/// <param name="CompletionIds">The generated token ids (a stop sequence's tokens included, the end-of-document token not).</param>
public sealed record GenerationStats(int PromptTokens, int CompletionTokens, TimeSpan Prefill, TimeSpan Decode, IReadOnlyList<int> CompletionIds)
{
    public double DecodeTokensPerSecond => CompletionTokens > 1 && Decode > TimeSpan.Zero ? (CompletionTokens - 1) / Decode.TotalSeconds : 0;
}

/// <summary>One streamed piece of text; the last chunk of a generation carries why it ended and its stats.</summary>
public sealed record GenerationChunk(string Text, FinishReason? Finish = null, GenerationStats? Stats = null);
