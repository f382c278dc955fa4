using static TorchSharp.torch;

namespace Afm.Training.Model;

/// <summary>
/// Rotary position embedding (RoPE), "rotate half" convention: the head dimension is split into two halves
/// (x1, x2) and rotated as (x1 cos - x2 sin, x2 cos + x1 sin) with frequency base^(-2i/d) for pair i.
/// The ONNX export must use the same convention.
/// One instance is shared by all layers of a model. <see cref="Base"/> is mutable because context
/// lengthening raises it between training stages; cos/sin tables are cached per (length, base).
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    private readonly int headDim;
    private readonly Dictionary<(long Length, double Base), (Tensor Cos, Tensor Sin)> cache = new();

    public RotaryEmbedding(int headDim, double ropeBase)
    {
        if (headDim % 2 != 0) throw new ArgumentException($"RoPE needs an even head dimension, got {headDim}.", nameof(headDim));
        this.headDim = headDim;
        Base = ropeBase;
    }

    public double Base { get; set; }

    /// <summary>Rotates x of shape [batch, heads, time, headDim] whose first row sits at <paramref name="startPosition"/>.</summary>
    public Tensor Apply(Tensor x, long startPosition = 0)
    {
        long length = x.shape[2];
        var (cos, sin) = Tables(startPosition + length);
        using var scope = NewDisposeScope();
        var c = cos.narrow(0, startPosition, length).to_type(x.dtype);
        var s = sin.narrow(0, startPosition, length).to_type(x.dtype);
        var halves = x.chunk(2, -1);
        var rotated = cat([halves[1].neg(), halves[0]], -1);
        return (x * c + rotated * s).MoveToOuterDisposeScope();
    }

    /// <summary>cos/sin of shape [length, headDim]; computed in float64 so a large base (6.3M) stays exact.</summary>
    private (Tensor Cos, Tensor Sin) Tables(long length)
    {
        if (cache.TryGetValue((length, Base), out var hit)) return hit;
        using var scope = NewDisposeScope();
        var pairs = arange(0, headDim, 2, dtype: ScalarType.Float64);
        var inverseFrequency = pow(Base, pairs / headDim).reciprocal();
        var angles = outer(arange(length, dtype: ScalarType.Float64), inverseFrequency);
        var full = cat([angles, angles], -1);
        // Cached tables outlive the caller's dispose scope (they are reused across steps).
        var entry = (full.cos().to_type(ScalarType.Float32).DetachFromDisposeScope(),
                     full.sin().to_type(ScalarType.Float32).DetachFromDisposeScope());
        cache[(length, Base)] = entry;
        return entry;
    }

    public void Dispose()
    {
        foreach (var (cos, sin) in cache.Values) { cos.Dispose(); sin.Dispose(); }
        cache.Clear();
    }
}
