using Afm.Core.Spec;
using Afm.Onnx.Export;
using Afm.Training.Model;
using TorchSharp;

namespace Afm.Onnx.Tests;

/// <summary>Freshly initialized micro decoders and their weights in exporter form.</summary>
internal static class MicroDecoder
{
    public static ArchitectureSpec Architecture(bool tied = true, bool qkNorm = true, int kvHeads = 2, double ropeBase = 10_000) => new()
    {
        ModelDim = 32,
        Layers = 2,
        Heads = 4,
        KvHeads = kvHeads,
        FfnDim = 48,
        VocabSize = 61,
        RopeBase = ropeBase,
        TieEmbeddings = tied,
        QkNorm = qkNorm,
        MaxSequenceLength = 64,
        NormEpsilon = 1e-5,
    };

    /// <summary>
    /// The generalized decoder's every switch at once: q/k/v biases, a head width (12) that is not ModelDim / Heads, per-layer
    /// query heads, key/value heads (one layer plain multi-head) and FFN widths (layer-wise scaling), an untied head.
    /// </summary>
    public static ArchitectureSpec Generalized(bool tied = false) => Architecture(tied: tied) with
    {
        Layers = 3,
        Heads = 6,
        KvHeads = 4,
        FfnDim = 88,
        ExplicitHeadDim = 12,
        AttentionBias = true,
        LayerShapes = [new(2, 1, 40), new(4, 4, 64), new(6, 2, 88)],
    };

    public static AfmDecoder Create(ArchitectureSpec architecture, long seed = 7)
    {
        Afm.Training.TorchRuntime.PrepareProcess();
        var model = new AfmDecoder(architecture, seed);
        // Norm weights start at 1 and biases at 0; perturb them so a missing or misplaced one changes the logits.
        using (torch.no_grad())
        {
            using var generator = new torch.Generator(unchecked((ulong)seed + 1));
            foreach (var (name, p) in model.named_parameters())
                if (p.dim() == 1) p.add_(torch.randn(p.shape, generator: generator).mul_(0.1));
        }
        model.eval();
        return model;
    }

    public static DecoderModel ToExport(AfmDecoder model)
    {
        var weights = new SortedDictionary<string, ExportWeight>(StringComparer.Ordinal);
        foreach (var (name, p) in model.named_parameters())
            weights[name] = new FloatWeight(p.detach().cpu().contiguous().data<float>().ToArray(), p.shape);
        return new DecoderModel(model.Architecture, model.RopeBase, weights);
    }
}
