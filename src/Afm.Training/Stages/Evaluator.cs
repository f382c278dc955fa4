using Afm.Data.Packing;
using Afm.Training.Model;
using static TorchSharp.torch;

namespace Afm.Training.Stages;

/// <summary>
/// Next-token loss of a model on packed sequences, for stages after training (quantization sensitivity,
/// perplexity of float vs quantized models). Same math as training's validation loss.
/// </summary>
public static class Evaluator
{
    /// <summary>Mean next-token cross-entropy (nats/token) over the given sequences, in eval mode without gradients.</summary>
    /// <param name="indices">Which sequences of <paramref name="source"/> to use, in order.</param>
    public static double MeanLoss(AfmDecoder model, IPackedSequences source, IReadOnlyList<long> indices, int batchSize = 8) =>
        MeanLoss(model, source, indices, (inputs, _) => model.forward(inputs), batchSize);

    /// <summary>
    /// <see cref="MeanLoss(AfmDecoder, IPackedSequences, IReadOnlyList{long}, int)"/> with the logits of each batch from
    /// <paramref name="forward"/>, given the batch's inputs [n, length] and its number (0, 1, ... in order; the batches are the
    /// same on every call with the same arguments): the quantize stage's sensitivity passes run the model from a kept layer input.
    /// </summary>
    public static double MeanLoss(AfmDecoder model, IPackedSequences source, IReadOnlyList<long> indices, Func<Tensor, int, Tensor> forward, int batchSize = 8)
    {
        int number = 0;
        return MeanOverBatches([model], source, indices, batchSize, (batch, length) => [Loss(forward(batch.narrow(1, 0, length), number++), batch, length)])[0];
    }

    /// <summary>
    /// <see cref="MeanLoss"/> of <paramref name="model"/> and, from the same forward pass, the mean KL(reference || model) of
    /// the next-token distributions (nats/token): how far a compressed model is from the one it was made from. Unlike a
    /// loss difference the divergence is never negative and has no first-order part whose sign depends on the particular
    /// rounding, so it separates small distortions a perplexity gap cannot. The reference's own loss comes from the same pass
    /// (<c>ReferenceLoss</c>, as <see cref="MeanLoss"/> of the reference), so a caller needs no separate pass for it.
    /// </summary>
    public static (double Loss, double ReferenceLoss, double Divergence) MeanLossAndDivergence(AfmDecoder reference, AfmDecoder model, IPackedSequences source,
        IReadOnlyList<long> indices, int batchSize = 8) =>
        MeanLossAndDivergence([reference, model], model.forward, reference.forward, source, indices, batchSize);

    /// <summary>
    /// <see cref="MeanLossAndDivergence(AfmDecoder, AfmDecoder, IPackedSequences, IReadOnlyList{long}, int)"/> with the two
    /// forward passes given as functions, called in this order on each batch: the quantize stage runs both on one decoder,
    /// swapping the float weights in for the reference's pass, rather than holding a second copy of a large model.
    /// </summary>
    /// <param name="models">The decoders the passes use (put in eval mode for the passes, and back after).</param>
    public static (double Loss, double ReferenceLoss, double Divergence) MeanLossAndDivergence(AfmDecoder[] models, Func<Tensor, Tensor> forward,
        Func<Tensor, Tensor> referenceForward, IPackedSequences source, IReadOnlyList<long> indices, int batchSize = 8)
    {
        var means = MeanOverBatches(models, source, indices, batchSize, (batch, length) =>
        {
            var inputs = batch.narrow(1, 0, length);
            var logits = forward(inputs);
            var referenceLogits = referenceForward(inputs);
            return [Loss(logits, batch, length), Loss(referenceLogits, batch, length), MeanDivergence(referenceLogits, logits)];
        });
        return (means[0], means[1], means[2]);
    }

    /// <summary>
    /// The reference's mean loss and, for each of <paramref name="forwards"/>, its mean loss and mean KL(reference || it), with
    /// one reference pass per batch for all of them. Called in this order on each batch: the reference, then each forward;
    /// every value is the one <see cref="MeanLossAndDivergence(AfmDecoder[], Func{Tensor, Tensor}, Func{Tensor, Tensor}, IPackedSequences, IReadOnlyList{long}, int)"/>
    /// gives for that forward alone, without repeating the reference's pass (and, in the quantize stage, its weight swap) per variant.
    /// </summary>
    public static (double ReferenceLoss, (double Loss, double Divergence)[] Variants) MeanLossesAndDivergences(AfmDecoder[] models,
        Func<Tensor, Tensor> referenceForward, IReadOnlyList<Func<Tensor, Tensor>> forwards, IPackedSequences source, IReadOnlyList<long> indices, int batchSize = 8)
    {
        var means = MeanOverBatches(models, source, indices, batchSize, (batch, length) =>
        {
            var inputs = batch.narrow(1, 0, length);
            using var referenceLogits = referenceForward(inputs);
            var values = new List<double> { Loss(referenceLogits, batch, length) };
            foreach (var forward in forwards)
            {
                using var logits = forward(inputs);
                values.Add(Loss(logits, batch, length));
                values.Add(MeanDivergence(referenceLogits, logits));
            }
            return [.. values];
        });
        return (means[0], [.. Enumerable.Range(0, forwards.Count).Select(v => (means[1 + 2 * v], means[2 + 2 * v]))]);
    }

    /// <summary>
    /// The values of <see cref="MeanLossesAndDivergences"/> with the passes in another order, for variants that are weights set
    /// on one model: <paramref name="useReference"/> once, then the reference's pass over every batch, whose logits go to
    /// <paramref name="keep"/> (batch number, logits); then for each variant its <paramref name="useVariants"/> action once and
    /// its pass over every batch, against the reference's logits from <paramref name="fetch"/>. Each batch's values are the ones
    /// the batch-by-batch order computes (same passes, same inputs, same sums in the same order), but the weights are swapped
    /// once per variant instead of once per batch and variant: the quantize stage's validation swapped a whole model's weights
    /// (2.4 GB for Qwen3-0.6B's shapes, and the uniform baseline quantized again) for every validation sequence (issue #15).
    /// </summary>
    public static (double ReferenceLoss, (double Loss, double Divergence)[] Variants) MeanLossesAndDivergencesInTurn(AfmDecoder model,
        Action useReference, IReadOnlyList<Action> useVariants, Action<int, Tensor> keep, Func<int, Tensor> fetch, IPackedSequences source,
        IReadOnlyList<long> indices, int batchSize = 8)
    {
        useReference();
        int number = 0;
        double referenceLoss = MeanOverBatches([model], source, indices, batchSize, (batch, length) =>
        {
            using var logits = model.forward(batch.narrow(1, 0, length));
            keep(number++, logits);
            return [Loss(logits, batch, length)];
        })[0];
        var variants = new (double Loss, double Divergence)[useVariants.Count];
        for (int v = 0; v < useVariants.Count; v++)
        {
            useVariants[v]();
            number = 0;
            var means = MeanOverBatches([model], source, indices, batchSize, (batch, length) =>
            {
                using var referenceLogits = fetch(number++);
                using var logits = model.forward(batch.narrow(1, 0, length));
                return [Loss(logits, batch, length), MeanDivergence(referenceLogits, logits)];
            });
            variants[v] = (means[0], means[1]);
        }
        return (referenceLoss, variants);
    }

    /// <summary>fp64 elements one slice of the divergence may hold per tensor (2^21: 16 MB).</summary>
    private const long DivergenceSliceElements = 1L << 21;

    /// <summary>
    /// Mean over positions of KL(p || q) of the next-token distributions, in float64. Computed a slice of positions at a time
    /// into one per-position vector, then averaged: each position's value is computed as on the whole batch (every operation
    /// is per row), so the result is the same, but a slice of Qwen3's 151,936-token vocabulary takes 16 MB per tensor where the
    /// whole batch took five fp64 tensors of 155 MB each (issue #15: the quantize stage's peak).
    /// </summary>
    private static double MeanDivergence(Tensor referenceLogits, Tensor logits)
    {
        long vocab = logits.shape[^1];
        using var reference = referenceLogits.reshape(-1, vocab);
        using var model = logits.reshape(-1, vocab);
        long positions = model.shape[0], slice = Math.Max(1, DivergenceSliceElements / vocab);
        using var perPosition = empty([positions], ScalarType.Float64);
        for (long start = 0; start < positions; start += slice)
        {
            using var scope = NewDisposeScope();
            long n = Math.Min(slice, positions - start);
            var p = nn.functional.log_softmax(reference.narrow(0, start, n).to_type(ScalarType.Float64), -1);
            var q = nn.functional.log_softmax(model.narrow(0, start, n).to_type(ScalarType.Float64), -1);
            perPosition.narrow(0, start, n).copy_((p.exp() * (p - q)).sum(-1));
        }
        return perPosition.mean().item<double>();
    }

    /// <summary>Mean cross-entropy of a batch's logits against its next tokens, as training's validation computes it.</summary>
    private static double Loss(Tensor logits, Tensor batch, int length) =>
        nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), batch.narrow(1, 1, length).reshape(-1)).item<float>();

    /// <summary>
    /// The means over sequences of per-batch means (<paramref name="measure"/> gets [n, length + 1] int64 tokens and the length),
    /// weighted by batch size, with every model in eval mode, without gradients, and put back in its mode afterwards.
    /// </summary>
    private static double[] MeanOverBatches(AfmDecoder[] models, IPackedSequences source, IReadOnlyList<long> indices, int batchSize,
        Func<Tensor, int, double[]> measure)
    {
        if (indices.Count == 0) throw new ArgumentException("No sequences to evaluate.", nameof(indices));
        int length = source.SequenceLength;
        batchSize = BatchWithin(batchSize, length, models[0].Architecture.VocabSize);
        var buffer = new int[batchSize * (length + 1)];
        double[]? totals = null;
        var wasTraining = models.Select(m => m.training).ToArray();
        foreach (var m in models) m.eval();
        using (no_grad())
        {
            for (int start = 0; start < indices.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(batchSize, indices.Count - start);
                for (int b = 0; b < n; b++) source.Read(indices[start + b], buffer.AsSpan(b * (length + 1), length + 1));
                var batch = tensor(buffer, [batchSize, length + 1]).narrow(0, 0, n).to_type(ScalarType.Int64);
                var values = measure(batch, length);
                totals ??= new double[values.Length];
                for (int k = 0; k < values.Length; k++) totals[k] += values[k] * n;
            }
        }
        for (int i = 0; i < models.Length; i++) if (wasTraining[i]) models[i].train();
        return totals!.Select(t => t / indices.Count).ToArray();
    }

    /// <summary>
    /// Logits elements one batch may hold (2^25: 128 MB in fp32, twice that for the divergence's fp64 distributions). A
    /// batch of 8 sequences of 128 tokens over Qwen3's 151,936-token vocabulary is 0.6 GB of logits per tensor, and the
    /// divergence makes several such tensors; models of the sample's size keep their batch of 8 (and their results).
    /// </summary>
    public const long LogitsPerBatch = 1L << 25;

    /// <summary><paramref name="batchSize"/>, lowered (to 1 at least) until a batch's logits fit <see cref="LogitsPerBatch"/>.</summary>
    public static int BatchWithin(int batchSize, int length, int vocabSize) =>
        (int)Math.Clamp(LogitsPerBatch / Math.Max(1L, (long)length * vocabSize), 1, batchSize);

    /// <summary><paramref name="count"/> indices spread evenly over the source (all of them when it has fewer).</summary>
    public static IReadOnlyList<long> Spread(IPackedSequences source, int count)
    {
        long n = Math.Min(count, source.Count);
        return Enumerable.Range(0, (int)n).Select(i => i * source.Count / n).ToList();
    }
}
