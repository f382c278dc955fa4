using Afm.Core.Spec;

namespace Afm.Profiling.Tests;

internal static class Micro
{
    public static ArchitectureSpec Architecture(bool tied = true) => new()
    {
        ModelDim = 64, Layers = 2, Heads = 4, KvHeads = 2, FfnDim = 128, VocabSize = 256, RopeBase = 10000,
        TieEmbeddings = tied, QkNorm = true, MaxSequenceLength = 64, NormEpsilon = 1e-5,
    };

    /// <summary>
    /// Every switch of the generalized decoder: q/k/v biases, a head width (24) that is not ModelDim / Heads, per-layer query
    /// heads, key/value heads (one layer plain multi-head) and FFN widths, an untied head.
    /// </summary>
    public static ArchitectureSpec Generalized() => Architecture(tied: false) with
    {
        Layers = 3, Heads = 6, KvHeads = 4, FfnDim = 160, ExplicitHeadDim = 24, AttentionBias = true,
        LayerShapes = [new(2, 1, 96), new(4, 4, 128), new(6, 2, 160)],
    };

    /// <summary>Round numbers so every expected value can be worked out by hand.</summary>
    public static DeviceProfileSpec Device(ComputeType type = ComputeType.Fp16) => new()
    {
        Name = "hand", MemoryBandwidthGBps = 1, Fp32GFlops = 1, Fp16GFlops = 1, Int8GOps = 2, ComputeType = type,
        LaunchOverheadUs = 10, EnergyPerBytePj = 1, EnergyPerOpPj = 1, StaticPowerMw = 0, MemoryGB = 1,
    };
}
