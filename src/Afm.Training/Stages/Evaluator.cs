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
    public static double MeanLoss(AfmDecoder model, IPackedSequences source, IReadOnlyList<long> indices, int batchSize = 8)
    {
        if (indices.Count == 0) throw new ArgumentException("No sequences to evaluate.", nameof(indices));
        int length = source.SequenceLength;
        var buffer = new int[batchSize * (length + 1)];
        double total = 0;
        bool wasTraining = model.training;
        model.eval();
        using (no_grad())
        {
            for (int start = 0; start < indices.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(batchSize, indices.Count - start);
                for (int b = 0; b < n; b++) source.Read(indices[start + b], buffer.AsSpan(b * (length + 1), length + 1));
                var batch = tensor(buffer, [batchSize, length + 1]).narrow(0, 0, n).to_type(ScalarType.Int64);
                var logits = model.forward(batch.narrow(1, 0, length));
                var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), batch.narrow(1, 1, length).reshape(-1));
                total += loss.item<float>() * (double)n;
            }
        }
        if (wasTraining) model.train();
        return total / indices.Count;
    }

    /// <summary><paramref name="count"/> indices spread evenly over the source (all of them when it has fewer).</summary>
    public static IReadOnlyList<long> Spread(IPackedSequences source, int count)
    {
        long n = Math.Min(count, source.Count);
        return Enumerable.Range(0, (int)n).Select(i => i * source.Count / n).ToList();
    }
}
