using System.Diagnostics;
using Afm.Runtime;
using Afm.Runtime.Generation;
using Afm.Runtime.Generation.Constraints;

namespace Afm.Bench.Runtime;

/// <summary>
/// What constrained decoding to JSON costs (issue #19's goal: under 20% of decode speed): the same number of tokens
/// generated freely and under <c>response_format: json_object</c>, at batch 1, rounds interleaved, each row's best kept.
/// Generation does not stop at the end-of-document token, so both rows decode exactly <c>tokens</c> tokens; the JSON row's
/// budget forces its object closed near the end, as a real request's would.
/// </summary>
internal static class StructuredOutputBench
{
    public static void Run(AfmModel model, int tokens, int rounds)
    {
        double best(bool json, int round) => Measure(model, json, tokens, seed: round);
        double free = 0, json = 0;
        for (int round = 0; round < rounds; round++)
        {
            free = Math.Max(free, best(false, round));
            json = Math.Max(json, best(true, round));
        }
        Console.WriteLine($"structured output, {tokens} tokens sampled at temperature 1, best of {rounds} interleaved rounds:");
        Console.WriteLine($"  free text          {free,10:0.0} tokens/s");
        Console.WriteLine($"  json_object        {json,10:0.0} tokens/s");
        Console.WriteLine($"  cost of the constraint {(1 - json / free) * 100,6:0.0} % of decode speed   (goal < 20 %)");
    }

    private static double Measure(AfmModel model, bool json, int tokens, int seed)
    {
        var options = new GenerationOptions
        {
            MaxTokens = tokens, StopAtEndOfDocument = false, Constraint = json ? JsonState.Start(objectOnly: true) : null,
            Sampling = new SamplingOptions { Temperature = 1, Seed = seed },
        };
        var clock = Stopwatch.StartNew();
        int generated = 0;
        foreach (var chunk in model.Generator.GenerateAsync("Answer in JSON:", options).ToBlockingEnumerable())
            if (chunk.Stats is { } stats) generated = stats.CompletionTokens;
        return generated / clock.Elapsed.TotalSeconds;
    }
}
