using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Afm.Compression.Storage;
using Afm.Core.Artifacts;
using Afm.Core.Spec;
using Afm.Runtime;
using Afm.Runtime.Generation;
using Afm.Training.Adapters;
using Afm.Training.Checkpoints;
using Afm.Training.Stages;
using TorchSharp;

namespace Afm.Bench.Runtime;

/// <summary>
/// Greedy decode of the same prompt and token count by ONNX Runtime (the artifact's model.onnx, KV cache) and by
/// the TorchSharp training model in eager mode (the training model has no KV cache, so each step runs the whole prefix,
/// which is how it generates today). TorchSharp gets the weights the graph was exported from: a palettized artifact's
/// graph holds model/quantized.safetensors, so TorchSharp runs those weights dequantized, not the float
/// model/model.safetensors beside them; otherwise neither the speed nor the "same greedy tokens" check would compare
/// one model. Both pick the argmax among the ids the runtime allows (its reserved-token suppression).
/// </summary>
internal static class DecodeBench
{
    /// <param name="OrtOnlyPeakMiB">Peak RSS of the process after ORT generated and before libtorch was loaded.</param>
    /// <param name="Weights">Which weights both runtimes ran, for the printout.</param>
    /// <param name="FirstDifference">Index of the first token where the runtimes disagree, or null.</param>
    public sealed record Result(double OrtTokensPerSecond, double TorchTokensPerSecond, int Tokens, bool SameTokens, double OrtOnlyPeakMiB,
        string Weights, int? FirstDifference);

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
        var (torchModelOwned, weights) = LoadGraphWeights(architecture, artifactDirectory, model.Session.BaseSha256);
        using var torchModel = torchModelOwned;
        var greedy = new Sampler(SamplingOptions.Greedy, model.Generator.Suppression); // the runtime's own greedy choice
        var promptIds = model.Generator.Tokenize(prompt).Select(i => (long)i).ToList();
        TorchGreedy(torchModel, greedy, promptIds, 4, out _);
        List<int> torchIds = [];
        double torchRate = 0;
        for (int run = 0; run < Repeats; run++)
        {
            var clock = Stopwatch.StartNew();
            torchIds = TorchGreedy(torchModel, greedy, promptIds, ortIds.Count, out var firstToken);
            torchRate = Math.Max(torchRate, (torchIds.Count - 1) / (clock.Elapsed - firstToken).TotalSeconds);
        }
        int difference = Enumerable.Range(0, Math.Min(ortIds.Count, torchIds.Count)).FirstOrDefault(i => ortIds[i] != torchIds[i], -1);
        int? firstDifference = difference >= 0 ? difference : ortIds.Count != torchIds.Count ? Math.Min(ortIds.Count, torchIds.Count) : null;
        return new Result(ortRuns.Max(r => r.DecodeTokensPerSecond), torchRate, ortIds.Count, ortIds.SequenceEqual(torchIds), ortOnlyPeak,
            weights, firstDifference);
    }

    /// <summary>
    /// The TorchSharp model of the weights file whose SHA-256 the graph records (afm.base_sha256): the quantized file
    /// dequantized, or the float file. A graph without that metadata predates adapters and was exported from the float weights.
    /// </summary>
    private static (Afm.Training.Model.AfmDecoder Model, string Label) LoadGraphWeights(ArchitectureSpec architecture, string artifactDirectory, string? graphBaseSha256)
    {
        string floatPath = Path.Combine(artifactDirectory, "model", "model.safetensors");
        string quantizedPath = Path.Combine(artifactDirectory, "model", "quantized.safetensors");
        if (File.Exists(quantizedPath) && graphBaseSha256 == Hashing.Sha256OfFile(quantizedPath))
        {
            // The RoPE base as the exporter reads it for this graph: the quantized file's metadata, else the architecture's.
            double ropeBase = SafeTensors.ReadMetadata(quantizedPath).TryGetValue("rope_base", out var rope)
                ? double.Parse(rope, CultureInfo.InvariantCulture) : architecture.RopeBase;
            return (AdapterBase.FromWeights(architecture, QuantizedWeightsFile.Dequantize(quantizedPath), ropeBase),
                "palettized (model/quantized.safetensors, dequantized for TorchSharp)");
        }
        if (!File.Exists(floatPath))
            throw new InvalidDataException($"model.onnx was exported from weights ({graphBaseSha256 ?? "not recorded"}) that the artifact does not hold: " +
                "model/model.safetensors is left out of the deploy layout; build the project with -p:AfmPackageSources=true to keep it.");
        if (graphBaseSha256 is not null && graphBaseSha256 != Hashing.Sha256OfFile(floatPath))
            throw new InvalidDataException($"model.onnx was exported from weights ({graphBaseSha256}) that are neither of the artifact's weights files.");
        return (Trainer.LoadModel(architecture, floatPath), "float (model/model.safetensors)");
    }

    private const int Repeats = 3;

    /// <summary>Greedy tokens; <paramref name="firstToken"/> is the time to the first one (the prefill), excluded from decode speed.</summary>
    private static List<int> TorchGreedy(Afm.Training.Model.AfmDecoder model, Sampler greedy, List<long> prompt, int tokens, out TimeSpan firstToken)
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
            int next = greedy.Next(logits[0, -1].data<float>().ToArray());
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
