using Afm.Data.Packing;
using Afm.Training.Model;
using static TorchSharp.torch;

/// <summary>
/// Per validation sequence: the next-token loss and the KL divergence KL(float || quantized) of the model's next-token
/// distributions, mean over positions (nats/token). A quantization's loss gap has a first-order part whose sign depends
/// on the draw; the KL is second order and never negative, so it separates methods whose gaps are lost in that noise
/// (llama.cpp reports the same divergence for its quantizations).
/// </summary>
internal sealed class Divergence : IDisposable
{
    private readonly AfmDecoder model;
    private readonly IPackedSequences source;
    private readonly IReadOnlyList<long> indices;
    private readonly List<Tensor> reference = [];

    /// <summary>Runs the model as it is now (float) once and keeps its log-probabilities as the reference.</summary>
    public Divergence(AfmDecoder model, IPackedSequences source, IReadOnlyList<long> indices)
    {
        (this.model, this.source, this.indices) = (model, source, indices);
        foreach (var (logProbs, _) in Sequences()) reference.Add(logProbs.MoveToOuterDisposeScope());
    }

    public (double[] Loss, double[] Kl) Measure()
    {
        var loss = new double[indices.Count];
        var kl = new double[indices.Count];
        int i = 0;
        foreach (var (logProbs, targets) in Sequences())
        {
            loss[i] = nn.functional.nll_loss(logProbs, targets).item<double>();
            var p = reference[i];
            kl[i] = (p.exp() * (p - logProbs)).sum(1).mean().item<double>();
            i++;
        }
        return (loss, kl);
    }

    private IEnumerable<(Tensor LogProbs, Tensor Targets)> Sequences()
    {
        int length = source.SequenceLength;
        var buffer = new int[length + 1];
        model.eval();
        foreach (long index in indices)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            source.Read(index, buffer);
            var tokens = tensor(buffer, [1, length + 1]).to_type(ScalarType.Int64);
            var logits = model.forward(tokens.narrow(1, 0, length));
            var logProbs = nn.functional.log_softmax(logits.reshape(length, -1).to_type(ScalarType.Float64), 1);
            yield return (logProbs, tokens.narrow(1, 1, length).reshape(-1));
        }
    }

    public void Dispose()
    {
        foreach (var t in reference) t.Dispose();
    }
}
