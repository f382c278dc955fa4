using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Afm.Core.Artifacts;
using Afm.Core.Spec;
using Afm.Data.Tokenization;
using Afm.Onnx.Adapters;
using Afm.Onnx.Export;
using Afm.Runtime.Artifacts;

namespace Afm.Runtime.Tests;

/// <summary>
/// A real .afmpkg built in-process: a BPE tokenizer trained on a few sentences and an exported micro decoder
/// with random weights, plus a manifest hashing every file as the package stage does.
/// </summary>
internal static class TestArtifact
{
    private static readonly string[] Sentences =
    [
        "Ada has a red kite and a blue boat.", "Bo reads a green book by the lamp.", "Cy and Di sail the gold boat.",
        "The kite is red. The book is green. The lamp is gold.", "Ed counts 12 apples and 34 kites.",
    ];

    public static string Create(string directory, Func<SortedDictionary<string, byte[]>, SortedDictionary<string, byte[]>>? tamper = null,
        TestArtifactOptions? options = null)
    {
        Directory.CreateDirectory(directory);
        var entries = Files(directory, options ?? new TestArtifactOptions());
        var manifest = new Manifest
        {
            Name = "micro-test",
            Version = "0.0.1",
            Toolchain = new ToolchainInfo("AfmToolchain", "test"),
            Seed = 1,
            Threads = 1,
            Stages = ["export", "package"],
            Inputs = [],
            Files = entries.Select(e => new HashedFile(e.Key, e.Value.LongLength, Hashing.Sha256(e.Value))).ToList(),
        };
        entries[VerifiedArtifact.ManifestEntry] = JsonSerializer.SerializeToUtf8Bytes(manifest, new JsonSerializerOptions(JsonSerializerDefaults.Web));
        if (tamper is not null) entries = tamper(entries);
        var path = Path.Combine(directory, "micro-test.afmpkg");
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, bytes) in entries)
        {
            using var stream = zip.CreateEntry(name).Open();
            stream.Write(bytes);
        }
        return path;
    }

    private static SortedDictionary<string, byte[]> Files(string directory, TestArtifactOptions options)
    {
        var tokenizerDirectory = Path.Combine(directory, "tok");
        var vocabulary = BpeTrainer.Train(Enumerable.Repeat(Sentences, 20).SelectMany(s => s),
            new BpeTrainingOptions(VocabSize: options.VocabSize, SplitDigits: true, ByteFallback: true, SpecialTokens: options.SpecialTokens));
        vocabulary.Save(tokenizerDirectory);
        var entries = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(tokenizerDirectory))
            entries["tokenizer/" + Path.GetFileName(file)] = File.ReadAllBytes(file);
        var decoder = RandomDecoder(vocabulary.VocabSize, options.Context) with { BaseSha256 = BaseSha256, Ops = options.Ops };
        if (options.Chains.Count > 0) decoder = Chained(decoder, options.Chains.Select(c => c.Select(t => SpecialId(vocabulary, t)).ToList()).ToList());
        if (options.Favoured.Count > 0) Favour((FloatWeight)decoder.Weights["embed.weight"], options.Favoured);
        var onnx = DecoderExporter.Export(decoder, "test");
        entries[VerifiedArtifact.OnnxModelEntry] = onnx;
        AddAdapter(entries, decoder, onnx, Adapter, BaseSha256);
        // Compiled against this base, then described as trained on another: an artifact put together wrongly.
        AddAdapter(entries, decoder, onnx, StaleAdapter, BaseSha256, describedBase: new string('e', 64));
        return entries;
    }

    /// <summary>The base weights hash the test graph records, and the adapters the artifact carries.</summary>
    public const string BaseSha256 = "5a5e000000000000000000000000000000000000000000000000000000000001";
    public const string Adapter = "summarize", StaleAdapter = "stale";

    private static void AddAdapter(SortedDictionary<string, byte[]> entries, DecoderModel decoder, byte[] onnx, string name, string baseSha256, string? describedBase = null)
    {
        var random = new Random(name.Length);
        const int rank = 4;
        var tensors = new Dictionary<string, (long[] Shape, float[] Values)>(StringComparer.Ordinal);
        float[] Values(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(random.NextDouble() * 2 - 1) * 0.5f).ToArray();
        foreach (var weight in DecoderNames.AdaptableWeights(decoder.Architecture.Layers))
        {
            var shape = decoder.Weights[weight].Shape;
            tensors[DecoderNames.LoraA(weight)] = ([rank, shape[1]], Values(rank * shape[1]));
            tensors[DecoderNames.LoraB(weight)] = ([shape[0], rank], Values(shape[0] * rank));
        }
        var (file, description) = AdapterCompiler.Compile(new TrainedAdapter(name, "feature", rank, "2", baseSha256, tensors), ExportedBase.FromModel(onnx));
        entries[$"adapters/{name}.onnx_adapter"] = file;
        entries[$"adapters/{name}.json"] = Encoding.UTF8.GetBytes((description with { BaseSha256 = describedBase ?? baseSha256 }).ToJson());
    }

    /// <summary>
    /// Makes the listed ids win the logits at every position, the more the higher their strength: every embedding row
    /// gets a large shared first component, which dominates the final hidden state (so its first component is large
    /// and positive), and the favoured rows get that component times their strength. With tied embeddings the logit
    /// of id i is hidden . embed[i], so the favoured ids lead by a margin the random rest cannot close.
    /// </summary>
    private static void Favour(FloatWeight embed, IReadOnlyDictionary<int, float> favoured)
    {
        const float shared = 16f;
        long columns = embed.Shape[1];
        for (long row = 0; row < embed.Shape[0]; row++) embed.Values[row * columns] = shared;
        foreach (var (id, strength) in favoured) embed.Values[id * columns] = shared * strength;
    }

    private static int SpecialId(BpeVocabulary vocabulary, string token) =>
        vocabulary.SpecialTokens.ToList().IndexOf(token) is var id and >= 0 ? id : throw new ArgumentException($"'{token}' is not a special token of the test tokenizer.");

    /// <summary>
    /// <paramref name="decoder"/> made to answer each chain's next token after its token, whatever came before: the
    /// layers write nothing into the residual stream (o_proj and down_proj zero), so the last position holds its token's
    /// embedding e, and an untied head whose row for token b is 8 x RMSNorm(e_a) (a followed by b in a chain) gives b
    /// a logit of 8 x 32 = 256, where any other token's is 8 x a dot product of two nearly unrelated vectors (below 100).
    /// A model that really writes a given text, token by token, with no training.
    /// </summary>
    private static DecoderModel Chained(DecoderModel decoder, IReadOnlyList<IReadOnlyList<int>> chains)
    {
        var embed = (FloatWeight)decoder.Weights["embed.weight"];
        long vocab = embed.Shape[0], dim = embed.Shape[1];
        var head = new float[vocab * dim];
        foreach (var chain in chains)
            for (int k = 0; k + 1 < chain.Count; k++)
            {
                int from = chain[k], to = chain[k + 1];
                double meanSquare = 0;
                for (long d = 0; d < dim; d++) meanSquare += embed.Values[from * dim + d] * (double)embed.Values[from * dim + d] / dim;
                var scale = 8 / Math.Sqrt(meanSquare + 1e-5);
                for (long d = 0; d < dim; d++) head[to * dim + d] = (float)(embed.Values[from * dim + d] * scale);
            }
        var weights = new SortedDictionary<string, ExportWeight>(decoder.Weights.ToDictionary(), StringComparer.Ordinal) { ["lm_head.weight"] = new FloatWeight(head, [vocab, dim]) };
        foreach (var name in weights.Keys.Where(n => n.EndsWith("o_proj.weight", StringComparison.Ordinal) || n.EndsWith("down_proj.weight", StringComparison.Ordinal)).ToList())
        {
            var zero = (FloatWeight)weights[name];
            weights[name] = new FloatWeight(new float[zero.Values.Length], zero.Shape);
        }
        return decoder with { Architecture = decoder.Architecture with { TieEmbeddings = false }, Weights = weights };
    }

    public static DecoderModel RandomDecoder(int vocabSize, int context = 96)
    {
        var architecture = new ArchitectureSpec
        {
            ModelDim = 32, Layers = 2, Heads = 4, KvHeads = 2, FfnDim = 48, VocabSize = vocabSize, RopeBase = 10_000,
            TieEmbeddings = true, QkNorm = true, MaxSequenceLength = context, NormEpsilon = 1e-5,
        };
        var random = new Random(3);
        FloatWeight Matrix(long rows, long columns, double std) =>
            new(Enumerable.Range(0, (int)(rows * columns)).Select(_ => (float)(std * (random.NextDouble() * 2 - 1) * 1.7)).ToArray(), [rows, columns]);
        FloatWeight Ones(long n) => new(Enumerable.Repeat(1f, (int)n).ToArray(), [n]);
        var weights = new SortedDictionary<string, ExportWeight>(StringComparer.Ordinal)
        {
            ["embed.weight"] = Matrix(vocabSize, 32, 0.5),
            ["norm.weight"] = Ones(32),
        };
        for (int l = 0; l < architecture.Layers; l++)
        {
            string p = $"layers.{l}.";
            weights[p + "attn_norm.weight"] = Ones(32);
            weights[p + "mlp_norm.weight"] = Ones(32);
            weights[p + "attn.q_norm.weight"] = Ones(8);
            weights[p + "attn.k_norm.weight"] = Ones(8);
            weights[p + "attn.q_proj.weight"] = Matrix(32, 32, 0.2);
            weights[p + "attn.k_proj.weight"] = Matrix(16, 32, 0.2);
            weights[p + "attn.v_proj.weight"] = Matrix(16, 32, 0.2);
            weights[p + "attn.o_proj.weight"] = Matrix(32, 32, 0.2);
            weights[p + "mlp.gate_proj.weight"] = Matrix(48, 32, 0.2);
            weights[p + "mlp.up_proj.weight"] = Matrix(48, 32, 0.2);
            weights[p + "mlp.down_proj.weight"] = Matrix(32, 48, 0.2);
        }
        return new DecoderModel(architecture, architecture.RopeBase, weights);
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}

/// <summary>
/// The tokenizer and weights of a test artifact; the defaults make the shared fixture's artifact.
/// </summary>
/// <param name="Favoured">Token id -> strength (above 1): ids the logits favour at every position, most the strongest.</param>
/// <param name="Ops">The graph's operators: the fused graph's runtime path (in-place cache buffers) runs the same tests.</param>
/// <param name="Context">The model's context in tokens (a chat template's system text and tool list need hundreds).</param>
/// <param name="Chains">Runs of special tokens the model writes in order: after a chain's token, always its next one (see Chained).</param>
internal sealed record TestArtifactOptions(int VocabSize = 300, IReadOnlyList<string>? SpecialTokens = null, IReadOnlyDictionary<int, float>? Favoured = null,
    OnnxOps Ops = OnnxOps.Standard, int Context = 96, IReadOnlyList<IReadOnlyList<string>>? Chains = null)
{
    public IReadOnlyList<IReadOnlyList<string>> Chains { get; init; } = Chains ?? [];
    public IReadOnlyList<string> SpecialTokens { get; init; } = SpecialTokens ?? [];
    public IReadOnlyDictionary<int, float> Favoured { get; init; } = Favoured ?? new Dictionary<int, float>();
}

/// <summary>One artifact shared by the tests of a class (building it trains a tokenizer).</summary>
public class ArtifactFixture : IDisposable
{
    public ArtifactFixture() : this(null) { }

    private protected ArtifactFixture(TestArtifactOptions? options)
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "afm-runtime-tests", Guid.NewGuid().ToString("N")[..12]);
        Path = TestArtifact.Create(Directory, options: options);
        Model = AfmModel.Load(Path);
    }

    public string Directory { get; }
    public string Path { get; }
    public AfmModel Model { get; }

    public void Dispose()
    {
        Model.Dispose();
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }
}

/// <summary>The shared artifact's model exported as the fused graph (GroupQueryAttention, cache buffers bound in place).</summary>
public sealed class FusedArtifactFixture() : ArtifactFixture(new TestArtifactOptions(Ops: OnnxOps.Fused));

/// <summary>
/// A model with a ChatML vocabulary (&lt;|im_start|&gt;, &lt;|im_end|&gt; as special tokens) and room for a real chat
/// template's system text and tool list.
/// </summary>
public sealed class ChatArtifactFixture() : ArtifactFixture(new TestArtifactOptions(SpecialTokens: ["<|im_start|>", "<|im_end|>"], Context: 2048));

/// <summary>
/// A test model that really calls a tool (issue #19's streamed auto calls): after <see cref="Go"/> it writes a Hermes
/// call of get_weather token by token, and after <see cref="Say"/> (a tool's result) a sentence; each piece is a
/// special token, so the text is exactly this, in these steps.
/// </summary>
public static class ToolCallingModel
{
    public const string Go = "<|go|>", Say = "<|say|>", EndOfText = "<|endoftext|>";
    /// <summary>The call, one token each: the opener, the head with the name, four pieces of arguments, the closer.</summary>
    public static readonly IReadOnlyList<string> Call =
        ["<tool_call>", "{\"name\": \"get_weather\", \"arguments\": ", "{\"city\": ", "\"Oslo\", ", "\"unit\": ", "\"celsius\"}", "}</tool_call>"];
    public static readonly IReadOnlyList<string> Answer = ["It is ", "3 degrees in Oslo."];
    public const string Arguments = """{"city":"Oslo","unit":"celsius"}""";

    internal static IReadOnlyList<string> SpecialTokens => [Go, Say, .. Call, .. Answer];
    internal static IReadOnlyList<IReadOnlyList<string>> Chains => [[Go, .. Call, EndOfText], [Say, .. Answer, EndOfText]];
}

/// <summary>The <see cref="ToolCallingModel"/>'s artifact, with room for a chat template's prompt.</summary>
public sealed class ToolCallingArtifactFixture() : ArtifactFixture(new TestArtifactOptions(SpecialTokens: ToolCallingModel.SpecialTokens, Context: 512, Chains: ToolCallingModel.Chains));
