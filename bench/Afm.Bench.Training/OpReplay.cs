using System.Diagnostics;
using Afm.Core.Spec;
using static TorchSharp.torch;

namespace Afm.Bench.Training;

/// <summary>
/// A simple breakdown of a training step: replays, at the model's exact shapes, only the matmuls of its linear
/// layers (forward and both backward products) and only its attention (sdpa forward + backward), and times them.
/// What the step spends beyond these is elementwise work (norms, RoPE, SwiGLU, softmax-CE, residuals, copies).
/// </summary>
internal static class OpReplay
{
    /// <summary>Seconds per step of the linear layers' matmuls: y = x W^T, dx = dy W, dW = dy^T x.</summary>
    public static double MatmulSeconds(ArchitectureSpec a, int batch, int length, int reps)
    {
        long rows = (long)batch * length;
        int headDim = a.HeadDim;
        var shapes = new List<(long Out, long In)>();
        for (int l = 0; l < a.Layers; l++)
        {
            shapes.Add((a.Heads * headDim, a.ModelDim)); // q
            shapes.Add((a.KvHeads * headDim, a.ModelDim)); // k
            shapes.Add((a.KvHeads * headDim, a.ModelDim)); // v
            shapes.Add((a.ModelDim, a.Heads * headDim)); // o
            shapes.Add((a.FfnDim, a.ModelDim)); // gate
            shapes.Add((a.FfnDim, a.ModelDim)); // up
            shapes.Add((a.ModelDim, a.FfnDim)); // down
        }
        shapes.Add((a.VocabSize, a.ModelDim)); // output projection (tied or not, it is a matmul)
        using var scope = NewDisposeScope();
        var tensors = shapes.Select(s => (X: randn(rows, s.In), W: randn(s.Out, s.In), Dy: randn(rows, s.Out))).ToList();
        double Run()
        {
            var clock = Stopwatch.StartNew();
            foreach (var (x, w, dy) in tensors)
            {
                matmul(x, w.t()).Dispose();
                matmul(dy, w).Dispose();
                matmul(dy.t(), x).Dispose();
            }
            return clock.Elapsed.TotalSeconds;
        }
        Run();
        return Enumerable.Range(0, reps).Min(_ => Run());
    }

    /// <summary>Seconds per step of causal sdpa forward + backward over all layers (keys/values already repeated to every head).</summary>
    public static double AttentionSeconds(ArchitectureSpec a, int batch, int length, int reps)
    {
        int headDim = a.HeadDim;
        using var outer = NewDisposeScope();
        var q = randn(batch, a.Heads, length, headDim).requires_grad_(true);
        var k = randn(batch, a.Heads, length, headDim).requires_grad_(true);
        var v = randn(batch, a.Heads, length, headDim).requires_grad_(true);
        var upstream = randn(batch, a.Heads, length, headDim);
        double Run()
        {
            var clock = Stopwatch.StartNew();
            for (int l = 0; l < a.Layers; l++)
            {
                using var scope = NewDisposeScope();
                var y = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
                y.backward([upstream]);
            }
            return clock.Elapsed.TotalSeconds;
        }
        Run();
        return Enumerable.Range(0, reps).Min(_ => Run());
    }
}
