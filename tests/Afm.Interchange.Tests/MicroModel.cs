using Afm.Core.Spec;
using Afm.Data.Tokenization;
using Afm.Tokenizers;
using Afm.Onnx.Export;
using Afm.Runtime.Sessions;
using Afm.Training.Model;
using TorchSharp;

namespace Afm.Interchange.Tests;

/// <summary>
/// A micro decoder with random weights and a real byte-level BPE tokenizer trained on a few sentences, exported to our
/// ONNX graph, so that our runtime's greedy decode is the reference every peer is compared with.
/// </summary>
internal sealed class MicroModel : IDisposable
{
    public const string EndOfText = "<|endoftext|>";
    private static readonly string[] Documents =
    [
        "The quick brown fox jumps over the lazy dog. 1234 5678 90\n",
        "Models compile like programs: validate, train, quantize, export, package.\n",
        "    indented code { return x + 42; }\n\nthe end\n",
    ];

    private MicroModel(string folder, AfmDecoder decoder, BpeVocabulary tokenizer)
    {
        Folder = folder;
        Decoder = decoder;
        Tokenizer = tokenizer;
        Export = ToExport(decoder);
        OnnxPath = Path.Combine(folder, "model.onnx");
        File.WriteAllBytes(OnnxPath, DecoderExporter.Export(Export, "test"));
    }

    // Weights larger than the training init, so that the layers, not the embedding of the current token, decide the next
    // token: with a tied, large embedding a random model only repeats its last input (greedy tokens 80, 80, 80, ...),
    // which would make every token comparison weak. Measured: these give 20+ distinct tokens in 32 steps.
    private const float EmbeddingScale = 3, MatrixScale = 10;

    public string Folder { get; }
    public AfmDecoder Decoder { get; }
    public BpeVocabulary Tokenizer { get; }
    public DecoderModel Export { get; }
    public string OnnxPath { get; }
    public ArchitectureSpec Architecture => Decoder.Architecture;

    /// <summary>dim 64 (4 heads of 16, 2 kv heads): every projection's rows are whole 32-weight blocks, as Q8_0/Q4_0 need.</summary>
    public static MicroModel Create(bool qkNorm = true, bool tied = true, long seed = 11)
    {
        var folder = Directory.CreateTempSubdirectory("afm-interchange-").FullName;
        var tokenizer = BpeTrainer.Train(Documents, new BpeTrainingOptions(300, SplitDigits: true, ByteFallback: true, [EndOfText]));
        tokenizer.Save(Path.Combine(folder, "tokenizer"));
        var architecture = new ArchitectureSpec
        {
            ModelDim = 64, Layers = 2, Heads = 4, KvHeads = 2, FfnDim = 96, VocabSize = tokenizer.VocabSize,
            RopeBase = 10_000, TieEmbeddings = tied, QkNorm = qkNorm, MaxSequenceLength = 128, NormEpsilon = 1e-5,
        };
        Afm.Training.TorchRuntime.PrepareProcess();
        torch.manual_seed(seed);
        var decoder = new AfmDecoder(architecture, seed);
        using (torch.no_grad())
        {
            using var generator = new torch.Generator(unchecked((ulong)seed + 1));
            foreach (var (name, p) in decoder.named_parameters())
            {
                // Norm weights start at 1: perturb them so a missing or misplaced norm changes the tokens.
                if (p.dim() == 1) p.add_(torch.randn(p.shape, generator: generator).mul_(0.1));
                else p.mul_(name.StartsWith("embed", StringComparison.Ordinal) || name.StartsWith("lm_head", StringComparison.Ordinal) ? EmbeddingScale : MatrixScale);
            }
        }
        decoder.eval();
        return new MicroModel(folder, decoder, tokenizer);
    }

    public static DecoderModel ToExport(AfmDecoder model)
    {
        var weights = new SortedDictionary<string, ExportWeight>(StringComparer.Ordinal);
        foreach (var (name, p) in model.named_parameters())
            weights[name] = new FloatWeight(p.detach().cpu().contiguous().data<float>().ToArray(), p.shape);
        return new DecoderModel(model.Architecture, model.RopeBase, weights);
    }

    /// <summary>
    /// Our runtime's greedy decode: <paramref name="steps"/> tokens after <paramref name="prompt"/>; checked to be varied (at
    /// least a quarter distinct), so a peer's equal tokens say something.
    /// </summary>
    public int[] Greedy(IReadOnlyList<int> prompt, int steps, string? onnxPath = null, Microsoft.ML.OnnxRuntime.OrtLoraAdapter? adapter = null)
    {
        var tokens = GreedyTokens(prompt, steps, onnxPath, adapter);
        if (steps >= 8 && tokens.Distinct().Count() < steps / 4)
            throw new InvalidOperationException($"The micro model's greedy tokens are degenerate ({string.Join(",", tokens)}): a comparison with them would prove little.");
        return tokens;
    }

    private int[] GreedyTokens(IReadOnlyList<int> prompt, int steps, string? onnxPath, Microsoft.ML.OnnxRuntime.OrtLoraAdapter? adapter)
    {
        using var session = new DecoderSession(onnxPath ?? OnnxPath, new RuntimeOptions { IntraOpThreads = 1 });
        using var cache = session.NewCache();
        var tokens = new List<int>();
        var logits = session.Forward(prompt.Select(i => (long)i).ToArray(), cache, adapter);
        while (true)
        {
            int next = ArgMax(logits);
            tokens.Add(next);
            if (tokens.Count == steps) return tokens.ToArray();
            logits = session.Forward([next], cache, adapter);
        }
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>The tokenizer as the tokenizer stage wrote it, loaded as every runtime of ours loads it.</summary>
    public AfmTokenizer LoadTokenizer() => AfmTokenizer.Load(Path.Combine(Folder, "tokenizer"));

    /// <summary>Its tokenizer.ggml.* keys for llama.cpp.</summary>
    public IEnumerable<KeyValuePair<string, object>> GgufTokenizer() => Tokenizers.GgufTokenizer.From(LoadTokenizer()).Metadata();

    public void Dispose()
    {
        Decoder.Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
