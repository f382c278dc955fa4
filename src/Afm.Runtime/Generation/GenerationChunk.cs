namespace Afm.Runtime.Generation;

public enum FinishReason { Stop, Length }

/// <summary>Counts and timings of one generation; decode tokens/s excludes the prompt (prefill).</summary>
/// <param name="CompletionIds">The generated token ids (a stop sequence's tokens included, the end-of-document token not).</param>
public sealed record GenerationStats(int PromptTokens, int CompletionTokens, TimeSpan Prefill, TimeSpan Decode, IReadOnlyList<int> CompletionIds)
{
    public double DecodeTokensPerSecond => CompletionTokens > 1 && Decode > TimeSpan.Zero ? (CompletionTokens - 1) / Decode.TotalSeconds : 0;
}

/// <summary>One streamed piece of text; the last chunk of a generation carries why it ended and its stats.</summary>
/// <param name="Logprobs">With <see cref="GenerationOptions.TopLogprobs"/>, the tokens whose text begins in this chunk (a
/// token split across chunks is reported with the chunk where it begins; tokens of a cut stop sequence are not
/// reported); else null.</param>
/// <param name="PromptLogprobs">With <see cref="GenerationOptions.PromptLogprobs"/>, on a first chunk of no text right after
/// prefill: the log-probability of each prompt token after the first (which has no context to be predicted from).</param>
public sealed record GenerationChunk(string Text, FinishReason? Finish = null, GenerationStats? Stats = null, IReadOnlyList<TokenLogprob>? Logprobs = null,
    IReadOnlyList<TokenLogprob>? PromptLogprobs = null);
