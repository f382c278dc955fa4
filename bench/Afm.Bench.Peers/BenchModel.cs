using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;
using Afm.Data.Tokenization;
using Afm.Interchange.GenAI;
using Afm.Interchange.Gguf;
using Afm.Onnx.Export;
using Afm.Tokenizers;

namespace Afm.Bench.Peers;

/// <summary>
/// A decoder with random weights (speed does not depend on their values) written in every form the bench runs: our
/// float and palettized graphs, the GenAI folder of the float graph, and GGUF F32 / Q8_0 / Q4_0 of the same floats.
/// </summary>
internal sealed record BenchModel(string Name, ArchitectureSpec Architecture)
{
    /// <summary>The sample's shapes (samples/tiny-afm: dim 128, 4 layers, 4 heads, 2 kv heads, FFN 352, vocabulary 2048).</summary>
    public static readonly BenchModel SampleShapes = new("sample-shapes", Spec(128, 4, 4, 2, 352, 2048));
    /// <summary>Large enough that its weights do not fit in any cache: 88M parameters, 352 MB in float32.</summary>
    public static readonly BenchModel Large = new("dim768-12l", Spec(768, 12, 12, 4, 2048, 16384));

    private static ArchitectureSpec Spec(int dim, int layers, int heads, int kvHeads, int ffn, int vocab) => new()
    {
        ModelDim = dim, Layers = layers, Heads = heads, KvHeads = kvHeads, FfnDim = ffn, VocabSize = vocab, RopeBase = 500_000,
        TieEmbeddings = true, QkNorm = true, MaxSequenceLength = 512, NormEpsilon = 1e-5,
    };

    public sealed record Files(string FloatOnnx, string PalettizedOnnx, string GenAIFolder, IReadOnlyDictionary<GgmlType, string> Gguf,
        long FloatMatrixBytes, double PalettizedBitsPerWeight, IReadOnlyList<Resident> NBits);

    /// <summary>A graph whose projections MatMulNBits runs from their compressed bytes; <see cref="BytesPerToken"/> is what a decode step reads.</summary>
    public sealed record Resident(string Label, string Onnx, double BitsPerWeight, long BytesPerToken, RuntimeActivations Activations)
    {
        public string ActivationsName => Activations == RuntimeActivations.Int8 ? "int8 activations" : "float32 activations";
    }

    public Files Write(string folder, int threads, Action<string> progress)
    {
        Directory.CreateDirectory(folder);
        var model = RandomWeights(seed: 1);
        var floatOnnx = Path.Combine(folder, "float.onnx");
        File.WriteAllBytes(floatOnnx, DecoderExporter.Export(model, "bench"));
        progress($"{Name}: float graph written");

        var (palettizedOnnx, bits) = Palettized(model, folder, threads);
        progress($"{Name}: palettized graph written ({bits:F2} bits per weight)");

        var genai = Path.Combine(folder, "genai");
        GenAIFolder.Write(genai, Architecture, new GenAITokenIds(0, 0, 0), File.ReadAllBytes(floatOnnx), _ => { }, new Dictionary<string, byte[]>());

        var vocabulary = Vocabulary(folder);
        var gguf = new Dictionary<GgmlType, string>();
        foreach (var type in new[] { GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_0 })
        {
            gguf[type] = Path.Combine(folder, GgufNames.FileName(Name, "0.0.0", type));
            GgufModelWriter.Write(gguf[type], model, vocabulary, new GgufModelInfo(Name, "0.0.0", "random weights (bench)"), type);
        }
        progress($"{Name}: GGUF files written");
        long matrixBytes = model.Weights.Values.Where(w => w.Shape.Length == 2).Sum(w => w.ElementCount * 4);
        // RuntimeForm="nbits": every projection 4-bit; then gate_proj at 2 bits, the issue's ~3.7 bits per weight; then every
        // projection a 4-bit palette of zero-point tables (Method="palettize" RuntimeForm="nbits").
        // Each with int8 activations (RuntimeActivations="int8", MatMulNBits accuracy_level 4), the form that reads the weights
        // at the memory's pace (2-bit too); the 4-bit graph also with float32 activations, the plan's default.
        var nbits = new List<Resident>
        {
            NBits(model, folder, "nbits4", _ => 4, RuntimeActivations.Float32),
            NBits(model, folder, "nbits4", _ => 4, RuntimeActivations.Int8),
            NBits(model, folder, "nbits-mixed", n => n.Contains("gate_proj", StringComparison.Ordinal) ? 2 : 4, RuntimeActivations.Int8),
            NBits(model, folder, "zp-palette4", _ => 4, RuntimeActivations.Int8, palette: true, threads),
        };
        progress($"{Name}: MatMulNBits graphs written ({string.Join(", ", nbits.Select(n => $"{n.BitsPerWeight:F2}"))} bits per weight)");
        return new Files(floatOnnx, palettizedOnnx, genai, gguf, matrixBytes, bits, nbits);
    }

    /// <summary>Uniform in ±0.0346 (standard deviation 0.02, the training init) for matrices; norm weights 1.</summary>
    internal DecoderModel RandomWeights(int seed)
    {
        var random = new Random(seed);
        var a = Architecture;
        int hd = a.HeadDim;
        var weights = new SortedDictionary<string, ExportWeight>(StringComparer.Ordinal);
        void Matrix(string name, long rows, long columns)
        {
            var values = new float[rows * columns];
            for (long i = 0; i < values.LongLength; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * 0.0346);
            weights[name] = new FloatWeight(values, [rows, columns]);
        }
        void Ones(string name, long length) => weights[name] = new FloatWeight(Enumerable.Repeat(1f, (int)length).ToArray(), [length]);
        Matrix("embed.weight", a.VocabSize, a.ModelDim);
        for (int l = 0; l < a.Layers; l++)
        {
            string p = $"layers.{l}.";
            Ones(p + "attn_norm.weight", a.ModelDim);
            Matrix(p + "attn.q_proj.weight", a.Heads * hd, a.ModelDim);
            Matrix(p + "attn.k_proj.weight", a.KvHeads * hd, a.ModelDim);
            Matrix(p + "attn.v_proj.weight", a.KvHeads * hd, a.ModelDim);
            Matrix(p + "attn.o_proj.weight", a.ModelDim, a.Heads * hd);
            Ones(p + "attn.q_norm.weight", hd);
            Ones(p + "attn.k_norm.weight", hd);
            Ones(p + "mlp_norm.weight", a.ModelDim);
            Matrix(p + "mlp.gate_proj.weight", a.FfnDim, a.ModelDim);
            Matrix(p + "mlp.up_proj.weight", a.FfnDim, a.ModelDim);
            Matrix(p + "mlp.down_proj.weight", a.ModelDim, a.FfnDim);
        }
        Ones("norm.weight", a.ModelDim);
        return new DecoderModel(a, a.RopeBase, weights) { LoraInputs = false };
    }

    /// <summary>
    /// The design card's storage on these weights: every projection 4-bit palettized (k-means LUT per 16 output channels,
    /// fp16 entries; 3 k-means iterations, no calibration data, which changes the values, not the graph's cost), int8
    /// per-channel embedding; stored and exported as `afm quantize` / `afm export` do.
    /// </summary>
    private (string Path, double Bits) Palettized(DecoderModel model, string folder, int threads)
    {
        var tensors = new List<QuantizedTensor>();
        foreach (var (name, weight) in model.Weights)
        {
            var values = ((FloatWeight)weight).Values;
            tensors.Add(weight.Shape.Length != 2 ? new FloatTensor(name, weight.Shape, values)
                : name == "embed.weight" ? Int8ChannelQuantizer.Quantize(name, weight.Shape, values)
                : Palettizer.Palettize(name, weight.Shape, values, null, 4, 16, LutType.Fp16, seed: 1, maxIterations: 3, threads));
        }
        var stored = Path.Combine(folder, "quantized.safetensors");
        QuantizedWeightsFile.Write(stored, tensors);
        var path = Path.Combine(folder, "palettized.onnx");
        File.WriteAllBytes(path, DecoderExporter.Export(QuantizedSafeTensorsWeights.Load(Architecture, stored) with { LoraInputs = false }, "bench"));
        var matrices = tensors.Where(t => t.Shape.Length == 2).ToList();
        return (path, 8.0 * matrices.Sum(t => t.StorageBytes) / matrices.Sum(t => t.Count));
    }

    /// <summary>
    /// The RuntimeForm="nbits" storage: projections uniform with integer zero points in blocks along the row (as the quantize
    /// stage lays them, nearest rounding), or palettes of zero-point tables (groups of 16 rows) with <paramref name="palette"/>;
    /// int8 per-channel embedding resident too (GatherBlockQuantized; the tied output as two 4-bit MatMulNBits over the table's nibbles, the same number of bytes).
    /// </summary>
    private Resident NBits(DecoderModel model, string folder, string label, Func<string, int> bitsOf, RuntimeActivations activations, bool palette = false, int threads = 1)
    {
        var stored = NBitsStored(model, folder, label, bitsOf, palette, threads);
        var path = Path.Combine(folder, $"{label}-{activations.ToString().ToLowerInvariant()}.onnx");
        File.WriteAllBytes(path, DecoderExporter.Export(stored.Graph(activations, OnnxOps.Standard), "bench"));
        return new Resident(label, path, stored.BitsPerWeight, stored.BytesPerToken, activations);
    }

    /// <summary>The RuntimeForm="nbits" weights stored as the quantize stage writes them, and what a decode step reads of them.</summary>
    public sealed record StoredNBits(string Path, ArchitectureSpec Architecture, double BitsPerWeight, long BytesPerToken)
    {
        /// <summary>The exported model of these weights with the given activations and operators (no LoRA inputs).</summary>
        public DecoderModel Graph(RuntimeActivations activations, OnnxOps ops) =>
            QuantizedSafeTensorsWeights.Load(Architecture, Path) with { LoraInputs = false, NBitsActivations = activations, Ops = ops };
    }

    /// <remarks>
    /// <paramref name="blockSize"/>: the uniform projections' block length along the row; null for the quantize stage's own
    /// choice (<see cref="UniformQuantizer.ZeroPointBlockSize"/> with the plan's default group of 16: 128 on these shapes).
    /// </remarks>
    public StoredNBits NBitsStored(DecoderModel model, string folder, string label, Func<string, int> bitsOf, bool palette = false, int threads = 1, int? blockSize = null)
    {
        var tensors = new List<QuantizedTensor>();
        foreach (var (name, weight) in model.Weights)
        {
            var values = ((FloatWeight)weight).Values;
            int bits = bitsOf(name);
            tensors.Add(weight.Shape.Length != 2 ? new FloatTensor(name, weight.Shape, values)
                : name == "embed.weight" ? Int8ChannelQuantizer.Quantize(name, weight.Shape, values)
                : palette ? Palettizer.Palettize(name, weight.Shape, values, null, bits, 16, LutType.Fp16, seed: 1, maxIterations: 10, threads, zeroPointTables: true)
                : UniformQuantizer.QuantizeWithZeroPoints(name, weight.Shape, values, bits, blockSize ?? UniformQuantizer.ZeroPointBlockSize(weight.Shape[1], 16, bits)!.Value));
        }
        var stored = Path.Combine(folder, label + ".safetensors");
        QuantizedWeightsFile.Write(stored, tensors);
        var resident = RuntimeForms.Of(tensors, Architecture.TieEmbeddings);
        var projections = tensors.Where(t => resident[t.Name].Form == RuntimeForms.MatMulNBits).ToList();
        if (projections.Count != tensors.Count(t => t.Shape.Length == 2 && t.Name != "embed.weight"))
            throw new InvalidOperationException($"{label}: not every projection runs as MatMulNBits.");
        // A step reads every projection's resident bytes (packed indices, float32 scales, zero points) and the int8 output matrix.
        long bytes = projections.Sum(t => resident[t.Name].Bytes) + Architecture.VocabSize * (long)Architecture.ModelDim;
        return new StoredNBits(stored, Architecture, 8.0 * projections.Sum(t => t.StorageBytes) / projections.Sum(t => t.Count), bytes);
    }

    /// <summary>Every matrix a decode step of a GGUF file reads in full: all 2-D tensors, the embedding only when it is also the output (tied).</summary>
    internal static long GgufMatrixBytes(string gguf)
    {
        var file = GgufReader.Read(gguf);
        bool tied = file.Tensors.All(t => t.Name != "output.weight");
        return file.Tensors.Where(t => t.Dimensions.Length == 2 && (tied || t.Name != "token_embd.weight")).Sum(t => (long)t.Data.Length);
    }

    /// <summary>A byte-level BPE of the model's size (learned on a few sentences, padded with reserved tokens) for the GGUF files.</summary>
    internal IEnumerable<KeyValuePair<string, object>> Vocabulary(string folder)
    {
        var tokenizer = BpeTrainer.Train(["The quick brown fox jumps over the lazy dog.\n", "Benchmarks measure, they do not guess: 1 2 3.\n"],
            new BpeTrainingOptions(Architecture.VocabSize, SplitDigits: true, ByteFallback: true, ["<|endoftext|>"]));
        var directory = Path.Combine(folder, "tokenizer");
        tokenizer.Save(directory);
        return GgufTokenizer.From(AfmTokenizer.Load(directory)).Metadata();
    }
}
