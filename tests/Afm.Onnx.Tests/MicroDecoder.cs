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

    public static AfmDecoder Create(ArchitectureSpec architecture, long seed = 7)
    {
        Afm.Training.TorchRuntime.PrepareProcess();
        var model = new AfmDecoder(architecture, seed);
        // Norm weights start at 1; perturb them so a missing or misplaced norm weight changes the logits.
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
