using TorchSharp;
using Xunit;

namespace Afm.Onnx.Tests;

/// <summary>What every ORT-vs-TorchSharp parity test shares: the tolerance, the reference logits and the id/logit slicing.</summary>
internal static class Parity
{
    /// <summary>The bound for fp32 logits: max abs diff ≤ 1e-3.</summary>
    public const float Tolerance = 1e-3f;

    /// <summary>
    /// The documented bound for a graph whose MatMulNBits quantize their activations to int8 (plan RuntimeActivations="int8",
    /// specs/onnx-export.md): max abs diff ≤ 3% of the largest |logit| of the reference. Each activation is rounded to 1/254 of
    /// its block's largest value, so the error scales with the logits, not a fixed 1e-3.
    /// </summary>
    public const float Int8ActivationsRelativeTolerance = 0.03f;

    /// <summary>TorchSharp logits [batch, time, vocab], flattened, for a row-major [batch, time] id matrix.</summary>
    public static float[] TorchLogits(Afm.Training.Model.AfmDecoder model, long[] ids, int batch)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return model.forward(torch.tensor(ids, [batch, ids.Length / batch], torch.int64)).contiguous().data<float>().ToArray();
    }

    /// <summary>Columns [start, start+length) of a row-major [batch, total] id matrix.</summary>
    public static long[] Columns(long[] ids, int batch, int start, int length)
    {
        int total = ids.Length / batch;
        return Enumerable.Range(0, batch).SelectMany(b => ids.Skip(b * total + start).Take(length)).ToArray();
    }

    /// <summary>The logits of each row's last position.</summary>
    public static float[] LastPosition(float[] logits, int batch, int time, int vocab) =>
        Enumerable.Range(0, batch).SelectMany(b => logits.Skip((b * time + time - 1) * vocab).Take(vocab)).ToArray();

    public static float MaxDiff(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));

    public static void AssertClose(float[] expected, float[] actual, float tolerance = Tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = MaxDiff(expected, actual);
        Assert.True(worst <= tolerance, $"max abs diff {worst} exceeds {tolerance}");
    }
}
