namespace Afm.Core.Spec.Resources;

/// <summary>The shape of the model as far as sizes go; every value as written, widened so no product overflows.</summary>
/// <remarks>Heads, KvHeads and FfnDim are the uniform values, or the largest of any layer when <see cref="LayerShapes"/> is set.</remarks>
internal sealed record ModelShape(long ModelDim, long Layers, long Heads, long KvHeads, long FfnDim, long VocabSize, bool TieEmbeddings,
    bool QkNorm, long MaxSequenceLength)
{
    public long? ExplicitHeadDim { get; init; }
    public bool AttentionBias { get; init; }
    /// <summary>Each layer's shape (layer-wise scaling), or null: every layer has Heads, KvHeads and FfnDim.</summary>
    public IReadOnlyList<LayerShape>? LayerShapes { get; init; }

    public long HeadDim => ExplicitHeadDim ?? ModelDim / Heads;
}

/// <summary>What one training stage (or feature adapter) asks of the machine, as written in its element.</summary>
internal sealed record StageShape(long Tokens, long SequenceLength, long BatchSize);

/// <summary>
/// Estimates of what the stages need, in bytes (specs/afmproj.md, "Resource estimates", gives the same formulas).
/// Doubles, not longs: the point is to refuse values whose products overflow a long, and a double's relative error
/// is irrelevant at the scale of these estimates. They aim high rather than exact: fp32 everywhere, as training runs.
/// </summary>
internal static class ResourceEstimate
{
    public const double BytesPerFloat = 4;

    /// <summary>
    /// Weights of the decoder: token embedding (and a separate output head unless tied), per layer the q and o
    /// projections (D x Heads·HeadDim: D x D unless the head width is given), k and v (D x KvHeads·HeadDim), SwiGLU's
    /// three D x F matrices, two norms (and q/k norms, and q/k/v biases), and the final norm; each layer with its own
    /// heads and F under layer-wise scaling.
    /// </summary>
    public static double Parameters(ModelShape m)
    {
        double d = m.ModelDim, hd = m.HeadDim;
        double PerLayer(double heads, double kvHeads, double ffn)
        {
            double q = heads * hd, kv = kvHeads * hd;
            return 2 * d * q + 2 * d * kv + 3 * d * ffn + 2 * d + (m.QkNorm ? 2.0 * hd : 0) + (m.AttentionBias ? q + 2 * kv : 0);
        }
        double layers = m.LayerShapes is { } shapes ? PerLayerSum(m, shapes, l => PerLayer(l.Heads, l.KvHeads, l.FfnDim)) : m.Layers * PerLayer(m.Heads, m.KvHeads, m.FfnDim);
        return (m.TieEmbeddings ? 1 : 2) * (double)m.VocabSize * d + layers + d;
    }

    /// <summary>Weights, their gradients and AdamW's two moments: 4 floats per parameter.</summary>
    public static double TrainingState(ModelShape m) => 4 * BytesPerFloat * Parameters(m);

    /// <summary>
    /// What autograd keeps of one batch for the backward pass: per layer about 8 D-wide and 4 F-wide values per token
    /// (norm inputs, q/k/v, attention output, residuals; gate, up, activation, product) plus the attention weights
    /// (Heads x L x L per sequence, which the CPU attention materializes), and the logits with their gradient.
    /// </summary>
    public static double Activations(ModelShape m, StageShape s)
    {
        double tokens = (double)s.BatchSize * s.SequenceLength;
        double PerLayer(double heads, double ffn) => tokens * (8.0 * m.ModelDim + 4.0 * ffn) + (double)s.BatchSize * heads * s.SequenceLength * (double)s.SequenceLength;
        double layers = m.LayerShapes is { } shapes ? PerLayerSum(m, shapes, l => PerLayer(l.Heads, l.FfnDim)) : m.Layers * PerLayer(m.Heads, m.FfnDim);
        return BytesPerFloat * (layers + 2 * tokens * m.VocabSize);
    }

    /// <summary>
    /// The sum over the layers' shapes; for a Layers beyond any sane model the reader lists only the first layers (the
    /// resource check refuses it), and their mean stands for the rest.
    /// </summary>
    private static double PerLayerSum(ModelShape m, IReadOnlyList<LayerShape> shapes, Func<LayerShape, double> perLayer)
    {
        double sum = shapes.Sum(perLayer);
        return shapes.Count == m.Layers ? sum : sum / shapes.Count * m.Layers;
    }

    /// <summary>RoPE's cosine and sine tables: MaxSequenceLength x HeadDim/2 each.</summary>
    public static double RopeTables(ModelShape m) => BytesPerFloat * m.MaxSequenceLength * (double)m.HeadDim;

    /// <summary>Peak memory of training one stage.</summary>
    public static double Training(ModelShape m, StageShape s) => TrainingState(m) + Activations(m, s) + RopeTables(m);

    /// <summary>
    /// BPE training holds the corpus text (UTF-16, 2 bytes a byte at most), its word counts (as large again) and a
    /// table of VocabSize tokens with their merges and strings (~128 bytes each).
    /// </summary>
    public static double Tokenizer(long vocabSize, long corpusBytes) => 4.0 * corpusBytes + 128.0 * vocabSize;

    /// <summary>
    /// The data stage holds every document as text (2 bytes a byte) and as token ids (4 bytes a token, at most one
    /// token a byte), plus its cleaning signatures: about 8 bytes per corpus byte.
    /// </summary>
    public static double Data(long corpusBytes) => 8.0 * corpusBytes;

    /// <summary>Packed shards of a stage: ceil(Tokens / L) training sequences and at most 256 validation ones, of L + 1 ids.</summary>
    public static double PackedData(StageShape s, long vocabSize, int maxValidationSequences = 256)
    {
        double sequences = Math.Ceiling((double)s.Tokens / s.SequenceLength) + maxValidationSequences;
        return sequences * (s.SequenceLength + 1) * (vocabSize <= 65536 ? 2 : 4);
    }
}
