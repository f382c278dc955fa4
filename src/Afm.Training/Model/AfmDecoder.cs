using Afm.Core.Spec;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Afm.Training.Model;

/// <summary>
/// The generalized decoder-only transformer (AFM, Llama, Mistral, Qwen2/3, OpenELM): token embedding, <c>Layers</c>
/// pre-norm blocks, each with its own head counts and FFN width when the architecture has per-layer shapes, final
/// RMSNorm, and an output projection that is the embedding matrix itself when <c>TieEmbeddings</c> (then there is no
/// <c>lm_head.weight</c> parameter; exporters must reuse <c>embed.weight</c>).
/// Parameter names: embed.weight, layers.{i}.attn_norm.weight, layers.{i}.attn.{q,k,v,o}_proj.weight,
/// layers.{i}.attn.{q,k,v}_proj.bias (AttentionBias only), layers.{i}.attn.{q,k}_norm.weight (QK-norm),
/// layers.{i}.mlp_norm.weight, layers.{i}.mlp.{gate,up,down}_proj.weight, norm.weight, lm_head.weight (untied only).
/// </summary>
public sealed class AfmDecoder : nn.Module<Tensor, Tensor>
{
    private const double InitStd = 0.02;

    private readonly Embedding embed;
    private readonly ModuleList<DecoderBlock> layers;
    private readonly RmsNorm norm;
    private readonly Linear? lm_head;
    private readonly RotaryEmbedding rotary;

    /// <param name="seed">Handed to <c>nn.init.normal_</c> as a private generator, which TorchSharp 0.107 ignores
    /// (its <c>nn.init</c> calls libtorch without the generator): the initial weights come from torch's global
    /// generator, so the caller fixes them by calling <c>manual_seed</c> just before (as <c>Trainer.Train</c> does),
    /// and other torch users drawing in between change them.</param>
    public AfmDecoder(ArchitectureSpec architecture, long seed = 0) : this(architecture, seed, initialize: true)
    {
    }

    private AfmDecoder(ArchitectureSpec architecture, long seed, bool initialize) : base("afm")
    {
        if (architecture.Inconsistency() is { } why) throw new ArgumentException($"No decoder has this architecture: {why}.", nameof(architecture));
        Architecture = architecture;
        rotary = new RotaryEmbedding(architecture.HeadDim, architecture.RopeBase);
        embed = nn.Embedding(architecture.VocabSize, architecture.ModelDim);
        layers = nn.ModuleList(Enumerable.Range(0, architecture.Layers).Select(i => new DecoderBlock(i, architecture, rotary)).ToArray());
        norm = new RmsNorm("norm", architecture.ModelDim, architecture.NormEpsilon);
        if (!architecture.TieEmbeddings) lm_head = nn.Linear(architecture.ModelDim, architecture.VocabSize, hasBias: false);
        RegisterComponents();
        if (initialize) Initialize(seed);
    }

    /// <summary>
    /// A copy of <paramref name="source"/>'s weights (and RoPE base) in <paramref name="dtype"/>, in the source's train/eval
    /// mode: the compute copy of mixed-precision training (Precision/Bf16Compute.cs). Building modules draws their default
    /// init from torch's global generator, which fixes later inits and is checkpointed, so its state is put back.
    /// </summary>
    public static AfmDecoder CopyAs(AfmDecoder source, ScalarType dtype)
    {
        using var generatorState = get_rng_state();
        var copy = new AfmDecoder(source.Architecture, seed: 0, initialize: false) { RopeBase = source.RopeBase };
        set_rng_state(generatorState);
        try
        {
            copy.to(dtype);
            using var noGrad = no_grad();
            foreach (var ((_, to), (_, from)) in copy.named_parameters().Zip(source.named_parameters())) to.copy_(from);
        }
        catch
        {
            copy.Dispose();
            throw;
        }
        copy.train(source.training);
        return copy;
    }

    public ArchitectureSpec Architecture { get; }

    /// <summary>RoPE base used from now on; training stages set it (context lengthening raises it).</summary>
    public double RopeBase
    {
        get => rotary.Base;
        set => rotary.Base = value;
    }

    /// <summary>The input embedding matrix [vocab, dim]; also the output projection when tied.</summary>
    public Parameter EmbeddingWeight => embed.weight!;

    /// <summary>The output projection matrix [vocab, dim].</summary>
    public Parameter OutputWeight => lm_head?.weight ?? embed.weight!;

    /// <summary>Parameters counted once even when tied.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>input ids [batch, time] (int64) -> logits [batch, time, vocab].</summary>
    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var logits = nn.functional.linear(Hidden(inputIds), OutputWeight);
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>input ids [batch, time] (int64) -> the final-normed hidden states [batch, time, dim] the output projection reads (a reward head reads them too).</summary>
    public Tensor Hidden(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var x = RunLayers(Embed(inputIds), 0, layers.Count);
        return norm.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The forward pass in pieces, with the same operations in the same order as <see cref="forward"/> (so the same values):
    /// input ids -> the residual stream entering layer 0. With <see cref="RunLayers"/> and <see cref="Logits"/> a caller can keep
    /// the stream entering a layer and run the model again from there (the quantize stage's per-layer sensitivity passes).
    /// </summary>
    public Tensor Embed(Tensor inputIds) => embed.forward(inputIds);

    /// <summary>
    /// The residual stream leaving layers [<paramref name="first"/>, <paramref name="end"/>), given <paramref name="residual"/>
    /// entering layer <paramref name="first"/>: a new tensor (an alias of the input when the range is empty); the input is not disposed.
    /// </summary>
    public Tensor RunLayers(Tensor residual, int first, int end)
    {
        if (first < 0 || end > layers.Count || first > end) throw new ArgumentOutOfRangeException(nameof(first), $"No layers [{first}, {end}) of {layers.Count}.");
        using var scope = NewDisposeScope();
        var x = residual.alias();
        for (int i = first; i < end; i++) x = layers[i].forward(x);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>The layer a parameter belongs to: i for layers.i.*, null for the embedding, the final norm and lm_head.</summary>
    public static int? LayerOf(string parameterName)
    {
        const string prefix = "layers.";
        if (!parameterName.StartsWith(prefix, StringComparison.Ordinal)) return null;
        int dot = parameterName.IndexOf('.', prefix.Length);
        return dot > prefix.Length && int.TryParse(parameterName.AsSpan(prefix.Length, dot - prefix.Length), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out int layer) ? layer : null;
    }

    /// <summary>Logits [batch, time, vocab] from the residual stream leaving the last layer: the final norm, then the output projection.</summary>
    public Tensor Logits(Tensor residual)
    {
        using var scope = NewDisposeScope();
        return nn.functional.linear(norm.forward(residual), OutputWeight).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Normal(0, 0.02) for embeddings and projections; the projections that write into the residual stream
    /// (o_proj, down_proj) get 0.02/sqrt(2*layers) so the residual's variance does not grow with depth.
    /// Norm weights stay at 1 and q/k/v biases at 0 (as Qwen2 initializes them). Draws come in parameter order from torch's global generator (the generator built
    /// from the seed is ignored by TorchSharp 0.107's <c>nn.init.normal_</c>), so <c>manual_seed</c> before the
    /// constructor fixes the init; the seed alone does not.
    /// </summary>
    private void Initialize(long seed)
    {
        using var noGrad = no_grad();
        using var generator = new Generator(unchecked((ulong)seed));
        double residualStd = InitStd / Math.Sqrt(2.0 * Math.Max(1, Architecture.Layers));
        nn.init.normal_(embed.weight!, 0, InitStd, generator);
        foreach (var layer in layers)
        {
            foreach (var (name, p) in layer.named_parameters())
            {
                // nn.Linear drew its bias at construction; a model trained here starts it at 0.
                if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
                if (p.dim() != 2) continue;
                bool residual = name.EndsWith("o_proj.weight", StringComparison.Ordinal) || name.EndsWith("down_proj.weight", StringComparison.Ordinal);
                nn.init.normal_(p, 0, residual ? residualStd : InitStd, generator);
            }
        }
        if (lm_head is not null) nn.init.normal_(lm_head.weight!, 0, InitStd, generator);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) rotary.Dispose();
        base.Dispose(disposing);
    }
}
