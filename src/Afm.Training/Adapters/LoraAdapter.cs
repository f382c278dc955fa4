using System.Globalization;
using Afm.Training.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Afm.Training.Adapters;

/// <summary>
/// A LoRA adapter over every linear projection of every block (attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj):
/// for a frozen base weight N [out, in] the projection becomes <c>y = x N^T + Scale * (x A^T) B^T</c> with
/// A = <c>N.lora_A</c> [rank, in] and B = <c>N.lora_B</c> [out, rank].
/// </summary>
/// <remarks>
/// The adapter attaches to a decoder as forward hooks on its <see cref="Linear"/> modules (the blocks call
/// <c>call()</c>, which runs hooks), so the decoder's own parameters, names and checkpoints never change and an
/// adapter can be swapped without rebuilding the model. Files hold B with <see cref="Scale"/> folded in
/// (<see cref="AdapterFile"/>): consumers (ONNX Runtime) compute x A^T B^T and never apply a scale.
/// </remarks>
public sealed class LoraAdapter : IDisposable
{
    /// <summary>The projections LoRA adapts in each block, as weight-name suffixes.</summary>
    public static readonly string[] Projections =
        ["attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"];

    public const string ASuffix = ".lora_A";
    public const string BSuffix = ".lora_B";

    private readonly List<Action> hooks = [];

    private LoraAdapter(int rank, double scale, IReadOnlyList<LoraPair> pairs)
    {
        Rank = rank;
        Scale = scale;
        Pairs = pairs;
    }

    public int Rank { get; }
    /// <summary>Multiplies the low-rank update while training (alpha / rank); 1 for an adapter read from a file.</summary>
    public double Scale { get; }
    public IReadOnlyList<LoraPair> Pairs { get; }

    /// <summary>A, B of every pair, for the optimizer (names "N.lora_A", "N.lora_B").</summary>
    public IEnumerable<(string Name, Parameter Parameter)> Parameters() =>
        Pairs.SelectMany(p => new[] { (p.Weight + ASuffix, p.A), (p.Weight + BSuffix, p.B) });

    public long ParameterCount => Pairs.Sum(p => p.A.numel() + p.B.numel());

    /// <summary>
    /// A fresh adapter for <paramref name="architecture"/>: B = 0 (so the adapted model starts exactly as the base),
    /// A ~ U(-1/sqrt(in), 1/sqrt(in)) drawn from a private generator seeded by <paramref name="seed"/>, in weight-name order.
    /// </summary>
    public static LoraAdapter Create(Afm.Core.Spec.ArchitectureSpec architecture, int rank, double alpha, long seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        using var generator = new Generator(unchecked((ulong)seed));
        var pairs = new List<LoraPair>();
        foreach (var (weight, outFeatures, inFeatures) in Targets(architecture))
        {
            double bound = 1.0 / Math.Sqrt(inFeatures);
            var a = rand([rank, inFeatures], generator: generator).mul_(2 * bound).sub_(bound);
            pairs.Add(new LoraPair(weight, new Parameter(a), new Parameter(zeros(outFeatures, rank))));
        }
        return new LoraAdapter(rank, alpha / rank, pairs);
    }

    /// <summary>An adapter from tensors named "N.lora_A"/"N.lora_B" (every target of the architecture must be there).</summary>
    /// <param name="scale">Scale to train with; B is divided by it so the adapted model is unchanged.</param>
    public static LoraAdapter FromTensors(Afm.Core.Spec.ArchitectureSpec architecture, IReadOnlyDictionary<string, Tensor> tensors, double scale = 1.0)
    {
        var pairs = new List<LoraPair>();
        int? rank = null;
        using var noGrad = no_grad();
        foreach (var (weight, outFeatures, inFeatures) in Targets(architecture))
        {
            if (!tensors.TryGetValue(weight + ASuffix, out var a) || !tensors.TryGetValue(weight + BSuffix, out var b))
                throw new InvalidDataException($"The adapter has no {weight}{ASuffix} / {weight}{BSuffix}.");
            rank ??= (int)a.shape[0];
            if (!a.shape.SequenceEqual([rank.Value, inFeatures]) || !b.shape.SequenceEqual([outFeatures, rank.Value]))
                throw new InvalidDataException($"The adapter's {weight} pair has shapes [{string.Join(",", a.shape)}] and [{string.Join(",", b.shape)}]; " +
                    $"rank {rank} over [{outFeatures},{inFeatures}] needs [{rank},{inFeatures}] and [{outFeatures},{rank}].");
            pairs.Add(new LoraPair(weight, new Parameter(a.to_type(ScalarType.Float32).clone()),
                new Parameter(b.to_type(ScalarType.Float32).div(scale))));
        }
        var extra = tensors.Keys.Except(pairs.SelectMany(p => new[] { p.Weight + ASuffix, p.Weight + BSuffix })).ToList();
        if (extra.Count > 0) throw new InvalidDataException($"The adapter has tensors this architecture has no place for: {string.Join(", ", extra.Take(5))}.");
        return new LoraAdapter(rank!.Value, scale, pairs);
    }

    /// <summary>The tensors as files hold them: B with <see cref="Scale"/> folded in, fp32, names "N.lora_A"/"N.lora_B".</summary>
    public IEnumerable<(string Name, Tensor Tensor)> FoldedTensors()
    {
        foreach (var p in Pairs)
        {
            yield return (p.Weight + ASuffix, p.A.detach());
            yield return (p.Weight + BSuffix, p.B.detach().mul(Scale));
        }
    }

    /// <summary>Adds the low-rank update to the decoder's projections until <see cref="Detach"/>. The base stays as it is.</summary>
    /// <param name="weights">Only the pairs of the base weights it accepts (e.g. one block's, for a per-layer measurement); null: all.</param>
    public void Attach(AfmDecoder model, Func<string, bool>? weights = null)
    {
        if (hooks.Count > 0) throw new InvalidOperationException("The adapter is attached already.");
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
        foreach (var pair in Pairs.Where(p => weights?.Invoke(p.Weight) ?? true))
        {
            string moduleName = pair.Weight[..^".weight".Length];
            if (!modules.TryGetValue(moduleName, out var module) || module is not Linear linear)
                throw new InvalidOperationException($"The model has no linear projection '{moduleName}'.");
            var remover = linear.register_forward_hook((_, input, output) => output + Update(input, pair).mul(Scale));
            hooks.Add(remover.remove);
        }
    }

    /// <summary>x A^T B^T; on a bf16 base (Precision="bf16-mixed") A and B are rounded to bf16 on the way, their gradients flow back to the float32 pair.</summary>
    private static Tensor Update(Tensor x, LoraPair pair) => x.dtype == pair.A.dtype
        ? nn.functional.linear(nn.functional.linear(x, pair.A), pair.B)
        : nn.functional.linear(nn.functional.linear(x, pair.A.to_type(x.dtype)), pair.B.to_type(x.dtype));

    public void Detach()
    {
        foreach (var remove in hooks) remove();
        hooks.Clear();
    }

    /// <summary>(weight name, out, in) of every adapted projection, in layer then projection order, each layer with its own shape.</summary>
    public static IEnumerable<(string Weight, long Out, long In)> Targets(Afm.Core.Spec.ArchitectureSpec a)
    {
        for (int i = 0; i < a.Layers; i++)
        {
            var shape = a.Layer(i);
            long q = (long)shape.Heads * a.HeadDim, kv = (long)shape.KvHeads * a.HeadDim;
            string layer = "layers." + i.ToString(CultureInfo.InvariantCulture) + ".";
            yield return (layer + "attn.q_proj.weight", q, a.ModelDim);
            yield return (layer + "attn.k_proj.weight", kv, a.ModelDim);
            yield return (layer + "attn.v_proj.weight", kv, a.ModelDim);
            yield return (layer + "attn.o_proj.weight", a.ModelDim, q);
            yield return (layer + "mlp.gate_proj.weight", shape.FfnDim, a.ModelDim);
            yield return (layer + "mlp.up_proj.weight", shape.FfnDim, a.ModelDim);
            yield return (layer + "mlp.down_proj.weight", a.ModelDim, shape.FfnDim);
        }
    }

    public void Dispose()
    {
        Detach();
        foreach (var p in Pairs) { p.A.Dispose(); p.B.Dispose(); }
    }
}

/// <summary>The low-rank pair of one base weight (<paramref name="Weight"/> is its name, e.g. layers.0.attn.q_proj.weight).</summary>
public sealed record LoraPair(string Weight, Parameter A, Parameter B);
