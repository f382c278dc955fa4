namespace Afm.Core.Spec.Resources;

/// <summary>The shape of the model as far as sizes go; every value as written, widened so no product overflows.</summary>
internal sealed record ModelShape(long ModelDim, long Layers, long Heads, long KvHeads, long FfnDim, long VocabSize, bool TieEmbeddings,
    bool QkNorm, long MaxSequenceLength)
{
    public long HeadDim => ModelDim / Heads;
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
    /// projections (D x D), k and v (D x KvHeads·HeadDim), SwiGLU's three D x F matrices, two norms (and q/k norms),
    /// and the final norm.
    /// </summary>
    public static double Parameters(ModelShape m)
    {
        double d = m.ModelDim, kv = (double)m.KvHeads * m.HeadDim;
        double perLayer = 2 * d * d + 2 * d * kv + 3 * d * m.FfnDim + 2 * d + (m.QkNorm ? 2.0 * m.HeadDim : 0);
        return (m.TieEmbeddings ? 1 : 2) * (double)m.VocabSize * d + m.Layers * perLayer + d;
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
        double perLayer = tokens * (8.0 * m.ModelDim + 4.0 * m.FfnDim) + (double)s.BatchSize * m.Heads * s.SequenceLength * (double)s.SequenceLength;
        return BytesPerFloat * (m.Layers * perLayer + 2 * tokens * m.VocabSize);
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
