using System.Diagnostics;
using Afm.Runtime;
using Afm.Runtime.Generation;
using Afm.Runtime.Sessions;

namespace Afm.Bench.Runtime;

/// <summary>
/// Time to first token of a multi-turn chat with and without the server's prompt cache (issue #19): a system prompt of
/// about <c>systemTokens</c> tokens, then <c>turns</c> turns, each prompt the whole conversation so far (as a chat client
/// sends it). The time is one generation of one token (prefill, the first token's sampling, and with the cache the lookup
/// and the store). Rounds alternate the two rows and each row keeps its best per turn; each round starts with an empty
/// cache, so its first turn is a miss.
/// </summary>
internal static class PromptCacheBench
{
    private static readonly string[] Sentences =
    [
        "Notifications are summarized in one short line.", "Names, amounts, days and times are kept exactly.",
        "A reminder names what is due and when.", "A message from a person keeps who wrote and what they ask.",
        "Delivery updates keep the carrier and the day.", "Payments keep the amount and the payee.",
    ];

    public static void Run(AfmModel model, int systemTokens, int turns, int rounds)
    {
        var system = "";
        for (int i = 0; model.Generator.Tokenize(system).Count < systemTokens; i++) system += Sentences[i % Sentences.Length] + " ";
        var prompts = new List<string>();
        var transcript = "System: " + system.TrimEnd() + "\n";
        for (int turn = 0; turn < turns; turn++)
        {
            transcript += $"User: next {turn + 1}?\nAssistant:";
            prompts.Add(transcript);
            transcript += $" Rent due Friday.\n";
        }
        int longest = model.Generator.Tokenize(prompts[^1]).Count;
        if (longest + 1 > model.Session.MaxSequenceLength)
            throw new ArgumentException($"The chat's last prompt has {longest} tokens; the model's context is {model.Session.MaxSequenceLength}. Use fewer turns or a shorter system prompt.");

        var plain = new double[turns].Select(_ => double.MaxValue).ToArray();
        var cached = plain.ToArray();
        for (int round = 0; round < rounds; round++)
        {
            var withCache = new TextGenerator(model.Session, model.Tokenizer, model.Adapters, endIds: model.EndIds, promptCache: new PromptCache(256L << 20));
            for (int turn = 0; turn < turns; turn++)
            {
                plain[turn] = Math.Min(plain[turn], FirstToken(model.Generator, prompts[turn]));
                cached[turn] = Math.Min(cached[turn], FirstToken(withCache, prompts[turn]));
            }
        }
        Console.WriteLine($"prompt cache, time to first token of a {turns}-turn chat (system prompt {model.Generator.Tokenize(system).Count} tokens, last prompt {longest} tokens), best of {rounds} rounds:");
        Console.WriteLine("  turn  prompt tokens   no cache ms   cache ms   ratio");
        for (int turn = 0; turn < turns; turn++)
            Console.WriteLine($"  {turn + 1,4}  {model.Generator.Tokenize(prompts[turn]).Count,13}  {plain[turn],12:0.00}  {cached[turn],9:0.00}  {plain[turn] / cached[turn],6:0.0}x");
        Console.WriteLine($"  all   {"",13}  {plain.Sum(),12:0.00}  {cached.Sum(),9:0.00}  {plain.Sum() / cached.Sum(),6:0.0}x");
    }

    private static double FirstToken(TextGenerator generator, string prompt)
    {
        var options = new GenerationOptions { MaxTokens = 1, Sampling = SamplingOptions.Greedy, StopAtEndOfDocument = false };
        var clock = Stopwatch.StartNew();
        foreach (var _ in generator.GenerateAsync(prompt, options).ToBlockingEnumerable()) { }
        return clock.Elapsed.TotalMilliseconds;
    }
}
