using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Afm.Tokenizers;
using Afm.Runtime.Adapters;
using Afm.Runtime.Batching;
using Afm.Runtime.Sessions;

namespace Afm.Runtime.Generation;

/// <summary>
/// The generation loop: prefill the prompt in one run, then one decode run per token with the KV cache,
/// streaming text as soon as it is settled (complete UTF-8, not possibly the start of a stop sequence).
/// Every prompt starts with the end-of-document token, the separator the model saw before each training document.
/// With a <see cref="DecodeBatcher"/>, the decode runs are shared with other generations (prefill stays per request);
/// sampling, stop sequences, streaming and cancellation are the same either way. Reserved token ids are never
/// generated (<see cref="Suppression"/>, derived from the tokenizer when the generator is built).
/// With a <see cref="PromptCache"/>, the prefill runs only the prompt's tokens after the longest prefix it holds.
/// </summary>
/// <param name="endIds">Ids that end a generation like the end-of-document token (an imported model's eos ids, <see cref="EndOfSequenceIds"/>).</param>
public sealed class TextGenerator(DecoderSession session, AfmTokenizer tokenizer, AdapterSet? adapters = null, DecodeBatcher? batcher = null,
    IReadOnlyCollection<int>? endIds = null, PromptCache? promptCache = null)
{
    private readonly HashSet<int> ends = [tokenizer.EndOfDocumentId, .. endIds ?? []];
    private readonly AdapterSet adapters = adapters ?? AdapterSet.Empty;

    public int ContextLength => session.MaxSequenceLength;

    /// <summary>The ids no generation picks: the tokenizer's reserved padding (and any logit beyond its vocabulary).</summary>
    public TokenSuppression Suppression { get; } = TokenSuppression.ForTokenizer(tokenizer, session.VocabSize);

    /// <summary>The vocabulary's trie for constrained decoding, built by the first generation that needs one.</summary>
    private Constraints.TokenTrie? trie;

    private Constraints.TokenTrie Trie => LazyInitializer.EnsureInitialized(ref trie, () => new Constraints.TokenTrie(tokenizer, Suppression));

    /// <summary>The most UTF-8 bytes one token stands for: a prompt of B bytes has at least B / this many tokens.</summary>
    private readonly int maxTokenBytes = tokenizer.MaxTokenBytes;

    /// <summary>The prompt's ids after the beginning-of-sequence token (for a tokenizer trained here the end-of-document token).</summary>
    public IReadOnlyList<int> Tokenize(string prompt) => tokenizer.EncodeSequence(prompt);

    /// <summary>
    /// Throws AFM7004 for a prompt too long for the context by its size alone, in time linear in its length and without
    /// allocating: tokenizing a 10 MB prompt took hundreds of MB only to find it could never fit. Prompts under this
    /// bound still get the exact check of <see cref="Validate"/> once tokenized.
    /// </summary>
    public void ValidatePromptSize(string prompt, string source = "afm")
    {
        long bytes = Encoding.UTF8.GetByteCount(prompt);
        long fewestTokens = 1 + (bytes + maxTokenBytes - 1) / maxTokenBytes; // 1: the end-of-document token every prompt starts with
        if (fewestTokens >= session.MaxSequenceLength)
            throw RuntimeCodes.Error(RuntimeCodes.InvalidGenerationOption, source,
                $"the prompt has at least {fewestTokens} tokens ({bytes} bytes, no token longer than {maxTokenBytes}); the model's context is {session.MaxSequenceLength}.");
    }

    /// <summary>Throws AFM7004 for settings that cannot be honoured, before any work starts.</summary>
    public void Validate(GenerationOptions options, int promptTokens, string source = "afm")
    {
        ValidateOptions(options, source);
        if (promptTokens >= session.MaxSequenceLength)
            throw RuntimeCodes.Error(RuntimeCodes.InvalidGenerationOption, source,
                $"the prompt has {promptTokens} tokens; the model's context is {session.MaxSequenceLength}.");
        if (options.Adapter is { } adapter) adapters.Resolve(adapter, source);
        foreach (var id in options.Sampling.LogitBias.Keys)
            if ((uint)id >= (uint)session.VocabSize)
                throw RuntimeCodes.Error(RuntimeCodes.InvalidGenerationOption, source, $"the logit bias names token {id}, but the model's ids are 0 to {session.VocabSize - 1}.");
    }

    /// <summary>
    /// Throws AFM7004 for a setting out of range, without the model: the CLI checks its options before loading an
    /// artifact, and the server before a request waits for a generation slot. The ranges are the OpenAI API's
    /// (temperature 0..2, top-p 0..1), so neither an infinite nor a NaN value reaches the sampler.
    /// </summary>
    public static void ValidateOptions(GenerationOptions options, string source = "afm")
    {
        var sampling = options.Sampling;
        string? problem = null;
        if (options.MaxTokens < 1 || options.MaxTokens > GenerationOptions.MaxTokensLimit)
            problem = $"max tokens must be between 1 and {GenerationOptions.MaxTokensLimit}, got {options.MaxTokens}.";
        else if (!(sampling.Temperature >= 0 && sampling.Temperature <= SamplingOptions.MaxTemperature))
            problem = $"temperature must be between 0 (greedy) and {SamplingOptions.MaxTemperature}, got {sampling.Temperature}.";
        else if (sampling.TopK < 0)
            problem = $"top-k must be 0 (off) or more, got {sampling.TopK}.";
        else if (!(sampling.TopP >= 0 && sampling.TopP <= 1))
            problem = $"top-p must be between 0 and 1, got {sampling.TopP}.";
        else if (!(Math.Abs(sampling.PresencePenalty) <= SamplingOptions.MaxPenalty))
            problem = $"presence penalty must be between -{SamplingOptions.MaxPenalty} and {SamplingOptions.MaxPenalty}, got {sampling.PresencePenalty}.";
        else if (!(Math.Abs(sampling.FrequencyPenalty) <= SamplingOptions.MaxPenalty))
            problem = $"frequency penalty must be between -{SamplingOptions.MaxPenalty} and {SamplingOptions.MaxPenalty}, got {sampling.FrequencyPenalty}.";
        else if (sampling.LogitBias.Where(b => !(Math.Abs(b.Value) <= SamplingOptions.MaxLogitBias)).Select(b => $"{b.Key}: {b.Value}").FirstOrDefault() is { } bias)
            problem = $"a logit bias must be between -{SamplingOptions.MaxLogitBias} and {SamplingOptions.MaxLogitBias}, got {bias}.";
        else if (!(Math.Abs(options.AdapterScale) <= Adapters.AdapterSet.MaxScale))
            problem = $"an adapter's scale must be between -{Adapters.AdapterSet.MaxScale} and {Adapters.AdapterSet.MaxScale}, got {options.AdapterScale}.";
        else if (options.TopLogprobs is < 0 or > GenerationOptions.MaxTopLogprobs)
            problem = $"top logprobs must be between 0 and {GenerationOptions.MaxTopLogprobs}, got {options.TopLogprobs}.";
        if (problem is not null) throw RuntimeCodes.Error(RuntimeCodes.InvalidGenerationOption, source, problem);
    }

    /// <summary>Generates from text; the server tokenizes first (inside its concurrency limit) and calls the overload with ids.</summary>
    public IAsyncEnumerable<GenerationChunk> GenerateAsync(string prompt, GenerationOptions options, CancellationToken cancellationToken = default)
    {
        ValidatePromptSize(prompt);
        return GenerateAsync(Tokenize(prompt), options, cancellationToken);
    }

    /// <param name="promptIds">The prompt as <see cref="Tokenize"/> returns it (starting with the end-of-document token).</param>
    public async IAsyncEnumerable<GenerationChunk> GenerateAsync(IReadOnlyList<int> promptIds, GenerationOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Validate(options, promptIds.Count);
        int budget = Math.Min(options.MaxTokens, session.MaxSequenceLength - promptIds.Count);
        using var lease = adapters.Activate(options.Adapter, options.AdapterScale, "afm");
        var adapter = lease.Handle;
        var sampler = new Sampler(options.Sampling, Suppression);
        var adjustment = new LogitAdjustment(options.Sampling);
        var constraint = options.Constraint is { } start ? new Constraints.TokenConstraint(Trie, tokenizer.EndOfDocumentId, start) : null;
        var stops = new StopSequenceMatcher(options.StopSequences);
        using var cache = session.NewCache();

        var clock = Stopwatch.StartNew();
        var ids = promptIds.Select(i => (long)i).ToArray();
        float[] logits;
        IReadOnlyList<TokenLogprob>? promptLogprobs = null;
        if (options.PromptLogprobs && ids.Length > 1)
        {
            var rows = session.Forward(ids, cache, adapter, ids.Length);
            int vocabulary = session.VocabSize, top = options.TopLogprobs ?? 0;
            promptLogprobs = Enumerable.Range(1, ids.Length - 1)
                .Select(i => TokenLogprob.Of(rows.AsSpan((i - 1) * vocabulary, vocabulary), promptIds[i], top, Suppression)).ToArray();
            logits = rows[^vocabulary..];
        }
        else
        {
            // With a prompt cache only the tokens after the longest cached prefix run (a prompt's own logprobs need them all).
            int reused = promptCache?.Restore(lease.Key, promptIds, cache, session) ?? 0;
            logits = session.Forward(ids[reused..], cache, adapter);
            promptCache?.Store(lease.Key, promptIds, cache, session);
        }
        var prefill = clock.Elapsed;
        if (promptLogprobs is not null) yield return new GenerationChunk("", PromptLogprobs: promptLogprobs);
        clock.Restart();
        // Joins after prefill, with room for every token it may still feed; the prompt's OrtValue cache is copied once.
        using var batched = batcher is not null && budget > 1 ? batcher.Join(SequenceCache.From(cache, session, promptIds.Count + budget), lease.Key, adapter) : null;
        if (batched is not null) cache.Dispose(); // its copy lives on in the batch; without this the prompt's cache is held twice until the end

        var generated = new List<int>();
        // With logprobs: each generated token's, with where its text begins, until a chunk reports it.
        var pending = new List<(TokenLogprob Logprob, int Start)>();
        int emitted = 0, textLength = 0;
        FinishReason finish = FinishReason.Length;
        while (generated.Count < budget)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var candidates = adjustment.Apply(logits);
            // No token can continue the constrained text within the budget (a budget below its shortest text): the output ends cut, as at the length.
            if (constraint is not null && constraint.Mask(candidates = ReferenceEquals(candidates, logits) ? (float[])logits.Clone() : candidates, budget - generated.Count) == 0) break;
            int next = sampler.Next(candidates);
            if (ends.Contains(next) && options.StopAtEndOfDocument) { finish = FinishReason.Stop; break; }
            generated.Add(next);
            adjustment.Record(next);
            if (!ends.Contains(next)) constraint?.Accept(tokenizer.Decode([next]));
            if (options.TopLogprobs is { } top) pending.Add((TokenLogprob.Of(logits, next, top, Suppression), textLength));

            var text = tokenizer.Decode(generated);
            textLength = text.TrimEnd('\uFFFD').Length;
            int stopAt = stops.FindStop(text);
            if (stopAt >= 0)
            {
                if (stopAt > emitted) yield return new GenerationChunk(text[emitted..stopAt], Logprobs: Report(pending, stopAt, options));
                emitted = stopAt;
                finish = FinishReason.Stop;
                break;
            }
            // A trailing U+FFFD is a UTF-8 sequence split across tokens: wait for the rest.
            int settled = text.EndsWith('\uFFFD') ? text.TrimEnd('\uFFFD').Length : text.Length;
            settled = Math.Min(settled, stops.SafeLength(text));
            if (settled > emitted)
            {
                yield return new GenerationChunk(text[emitted..settled], Logprobs: Report(pending, settled, options));
                emitted = settled;
            }
            if (generated.Count < budget)
                logits = batched is null ? session.Forward([next], cache, adapter) : await batched.StepAsync(next, cancellationToken);
            await Task.Yield();
        }

        batched?.Dispose(); // leave before the last chunk: the others need not wait for a step that will not come
        var final = tokenizer.Decode(generated);
        int end = finish == FinishReason.Stop && stops.FindStop(final) is var s and >= 0 ? s : final.Length;
        var rest = end > emitted ? final[emitted..end] : "";
        var stats = new GenerationStats(promptIds.Count, generated.Count, prefill, clock.Elapsed, generated);
        yield return new GenerationChunk(rest, finish, stats, Report(pending, end, options, final: true));
    }

    /// <summary>
    /// The pending tokens whose text begins before <paramref name="settled"/>, removed from the list; null without logprobs.
    /// At the end, tokens that begin at or after it (inside a cut stop sequence) are dropped.
    /// </summary>
    private static List<TokenLogprob>? Report(List<(TokenLogprob Logprob, int Start)> pending, int settled, GenerationOptions options, bool final = false)
    {
        if (options.TopLogprobs is null) return null;
        int count = 0;
        while (count < pending.Count && pending[count].Start < settled) count++;
        var reported = pending.Take(count).Select(p => p.Logprob).ToList();
        pending.RemoveRange(0, final ? pending.Count : count);
        return reported;
    }
}
