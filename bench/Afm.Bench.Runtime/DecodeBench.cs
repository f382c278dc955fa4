using System.Diagnostics;
using System.Text.Json;
using Afm.Core.Spec;
using Afm.Runtime;
using Afm.Runtime.Generation;
using Afm.Training.Stages;
using TorchSharp;

namespace Afm.Bench.Runtime;

/// <summary>
/// Greedy decode of the same prompt and token count by ONNX Runtime (the artifact's model.onnx, KV cache) and by
/// the TorchSharp training model in eager mode (model/model.safetensors of the same artifact; the training
/// model has no KV cache, so each step runs the whole prefix, which is how it generates today).
/// </summary>
internal static class DecodeBench
{
    /// <param name="OrtOnlyPeakMiB">Peak RSS of the process after ORT generated and before libtorch was loaded.</param>
    public sealed record Result(double OrtTokensPerSecond, double TorchTokensPerSecond, int Tokens, bool SameTokens, double OrtOnlyPeakMiB);

    public static Result Run(AfmModel model, string artifactDirectory, string prompt, int tokens, int threads)
    {
        // Both runtimes generate exactly `tokens` tokens (no stop at end-of-document), best of `Repeats` runs each:
        // the machine is shared, and the best run is the one least disturbed by other work.
        var options = new GenerationOptions { MaxTokens = tokens, Sampling = SamplingOptions.Greedy, StopAtEndOfDocument = false };
        Drain(model.Generator.GenerateAsync(prompt, options with { MaxTokens = 4 }));
        var ortRuns = Enumerable.Range(0, Repeats).Select(_ => Drain(model.Generator.GenerateAsync(prompt, options))).ToList();
        var ortIds = ortRuns[0].CompletionIds.ToList();
        double ortOnlyPeak = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024);

        var architecture = ReadArchitecture(Path.Combine(artifactDirectory, "spec.json"));
        torch.set_num_threads(threads);
        using var torchModel = Trainer.LoadModel(architecture, Path.Combine(artifactDirectory, "model", "model.safetensors"));
        var promptIds = model.Generator.Tokenize(prompt).Select(i => (long)i).ToList();
        TorchGreedy(torchModel, promptIds, 4, out _);
        List<int> torchIds = [];
        double torchRate = 0;
        for (int run = 0; run < Repeats; run++)
        {
            var clock = Stopwatch.StartNew();
            torchIds = TorchGreedy(torchModel, promptIds, ortIds.Count, out var firstToken);
            torchRate = Math.Max(torchRate, (torchIds.Count - 1) / (clock.Elapsed - firstToken).TotalSeconds);
        }
        return new Result(ortRuns.Max(r => r.DecodeTokensPerSecond), torchRate, ortIds.Count, ortIds.SequenceEqual(torchIds), ortOnlyPeak);
    }

    private const int Repeats = 3;

    /// <summary>Greedy tokens; <paramref name="firstToken"/> is the time to the first one (the prefill), excluded from decode speed.</summary>
    private static List<int> TorchGreedy(Afm.Training.Model.AfmDecoder model, List<long> prompt, int tokens, out TimeSpan firstToken)
    {
        var sequence = new List<long>(prompt);
        var generated = new List<int>();
        var clock = Stopwatch.StartNew();
        firstToken = TimeSpan.Zero;
        using var noGrad = torch.no_grad();
        while (generated.Count < tokens)
        {
            using var scope = torch.NewDisposeScope();
            var logits = model.forward(torch.tensor(sequence.ToArray(), [1, sequence.Count], torch.int64));
            int next = (int)logits[0, -1].argmax().item<long>();
            if (generated.Count == 0) firstToken = clock.Elapsed;
            generated.Add(next);
            sequence.Add(next);
        }
        return generated;
    }

    private static GenerationStats Drain(IAsyncEnumerable<GenerationChunk> stream)
    {
        GenerationStats? stats = null;
        var enumerator = stream.GetAsyncEnumerator();
        while (enumerator.MoveNextAsync().AsTask().GetAwaiter().GetResult()) stats = enumerator.Current.Stats ?? stats;
        enumerator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return stats!;
    }

    internal static ArchitectureSpec ReadArchitecture(string specPath)
    {
        using var spec = JsonDocument.Parse(File.ReadAllBytes(specPath));
        return spec.RootElement.GetProperty("architecture").Deserialize<ArchitectureSpec>(new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }
}
