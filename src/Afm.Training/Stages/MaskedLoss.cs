using static TorchSharp.torch;

namespace Afm.Training.Stages;

/// <summary>
/// Next-token loss restricted by a loss mask (sft stages): targets whose mask byte is 0 (prompt tokens) get
/// <see cref="IgnoreIndex"/>, which cross-entropy skips, and the sum is divided by the number of counted targets.
/// </summary>
internal static class MaskedLoss
{
    /// <summary>PyTorch's default ignore_index: targets with this value add nothing to the loss or its gradient.</summary>
    public const long IgnoreIndex = -100;

    /// <summary>Targets [batch, L] from sequences of L + 1 tokens: token t + 1, or IgnoreIndex where its mask is 0.</summary>
    public static Tensor Targets(Tensor batch, ReadOnlySpan<byte> mask, long batchSize, long length)
    {
        var targets = batch.narrow(1, 1, length);
        var keep = tensor(mask.ToArray(), [batchSize, length + 1]).narrow(1, 1, length).to_type(ScalarType.Bool);
        return targets.masked_fill(keep.logical_not(), IgnoreIndex);
    }

    /// <summary>Mean cross-entropy over the targets that are not ignored; 0 (with a zero gradient) when all are.</summary>
    public static (Tensor Loss, long Counted) Loss(Tensor logits, Tensor targets)
    {
        var flat = targets.reshape(-1);
        long counted = flat.ne(IgnoreIndex).sum().item<long>();
        var sum = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), flat, ignore_index: IgnoreIndex, reduction: nn.Reduction.Sum);
        return (sum / Math.Max(1, counted), counted);
    }
}
