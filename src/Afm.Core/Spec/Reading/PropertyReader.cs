using System.Text.RegularExpressions;

namespace Afm.Core.Spec.Reading;

/// <summary>The project's properties, parsed; null where a value was invalid (already reported).</summary>
internal sealed record ProjectProperties
{
    public string? Name { get; init; }
    public string? Version { get; init; }
    public long? Seed { get; init; }
    public int? Threads { get; init; }
    public DeterminismMode? Determinism { get; init; }
    /// <summary>AfmOnnxOps when set and valid (null: <see cref="OnnxOpsNames.Default"/>).</summary>
    public OnnxOps? OnnxOps { get; init; }
    public int? ModelDim { get; init; }
    public int? Layers { get; init; }
    /// <summary>Query heads; with layer-wise scaling, the largest of any layer.</summary>
    public int? Heads { get; init; }
    public int? KvHeads { get; init; }
    /// <summary>Wide: the default (8/3 x ModelDim) of a huge ModelDim does not fit an int, and the resource check says so.</summary>
    public long? FfnDim { get; init; }
    /// <summary>HeadDim when set (else ModelDim / Heads).</summary>
    public int? HeadDim { get; init; }
    public bool? AttentionBias { get; init; }
    /// <summary>Each layer's shape with LayerWiseScaling=true, else null.</summary>
    public IReadOnlyList<LayerShape>? LayerShapes { get; init; }
    public double? RopeBase { get; init; }
    public bool? TieEmbeddings { get; init; }
    public bool? QkNorm { get; init; }
    /// <summary>Only when the user set it; otherwise the longest stage decides.</summary>
    public RawValue? MaxSequenceLengthValue { get; init; }
    public int? MaxSequenceLength { get; init; }
    public double? NormEpsilon { get; init; }
    public double? ValidationFraction { get; init; }
}

/// <summary>Reads the model's properties (identity, architecture, run settings) with their defaults.</summary>
internal static partial class PropertyReader
{
    public const long DefaultSeed = 1234;
    public const int DefaultThreads = 2;
    /// <summary>
    /// Not the machine's core count: threads are part of the determinism contract, so a project must build the same on
    /// every machine. Past this, every math library would start more threads than any machine has cores.
    /// </summary>
    public const int MaxThreads = 256;
    public const double DefaultRopeBase = 500_000;
    public const double DefaultNormEpsilon = 1e-5;
    public const double DefaultValidationFraction = 0.05;

    // SemVer 2.0.0: the package name embeds the version, and tools compare versions by these rules.
    [GeneratedRegex(@"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")]
    internal static partial Regex SemVer();

    // The name becomes a file name (<Name>.<Version>.afmpkg) on every OS.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    public static partial Regex SafeName();

    /// <param name="hasBaseModel">The architecture comes from a BaseModel: no architecture property is required (those set are compared with the base).</param>
    public static ProjectProperties Read(SpecContext context, bool hasBaseModel = false)
    {
        RawValue? Architecture(string name, string example) => hasBaseModel ? context.Property(name) : context.RequiredProperty(name, example);
        var modelDim = Architecture("ModelDim", "256") is { } md ? context.Int(md, SpecContext.Positive) : null;
        var layers = Architecture("Layers", "6") is { } l ? context.Int(l, SpecContext.Positive) : null;
        var headDim = LayerWiseScalingReader.HeadDim(context);
        var maxSequence = context.Property("MaxSequenceLength");
        int? heads, kvHeads;
        long? ffnDim;
        IReadOnlyList<LayerShape>? layerShapes = null;
        if (LayerWiseScalingReader.Enabled(context) == true)
        {
            layerShapes = LayerWiseScalingReader.Shapes(context, modelDim, layers, headDim);
            heads = layerShapes?.Max(s => s.Heads);
            kvHeads = layerShapes?.Max(s => s.KvHeads);
            ffnDim = layerShapes?.Max(s => s.FfnDim);
        }
        else
        {
            LayerWiseScalingReader.RejectScalingProperties(context);
            heads = Architecture("Heads", "8") is { } h ? context.Int(h, SpecContext.Positive) : null;
            var kvHeadsValue = context.Property("KvHeads");
            kvHeads = kvHeadsValue is { } kv ? context.Int(kv, SpecContext.Positive) : heads;
            CheckHeads(context, modelDim, heads, kvHeads, kvHeadsValue, headDim);
            ffnDim = context.Property("FfnDim") is { } ffn ? context.Int(ffn, SpecContext.Positive) : modelDim is int d ? DefaultFfnDim(d) : null;
        }
        var determinism = ReadDeterminism(context);
        var onnxOps = ReadOnnxOps(context, headDim ?? (modelDim is int md2 && heads is int h2 && h2 > 0 ? md2 / h2 : null));

        return new ProjectProperties
        {
            Name = ReadName(context),
            Version = ReadVersion(context),
            Seed = context.Property("Seed") is { } seed ? context.Long(seed, SpecContext.NonNegative) : DefaultSeed,
            Threads = context.Property("AfmThreads") is { } t ? context.Int(t, (v => v >= 1 && v <= MaxThreads, $"from 1 to {MaxThreads}")) : DefaultThreads,
            Determinism = determinism,
            OnnxOps = onnxOps,
            ModelDim = modelDim,
            Layers = layers,
            Heads = heads,
            KvHeads = kvHeads,
            FfnDim = ffnDim,
            HeadDim = headDim,
            AttentionBias = context.Property("AttentionBias") is { } bias ? context.Bool(bias) : false,
            LayerShapes = layerShapes,
            RopeBase = context.Property("RopeBase") is { } rope ? context.Double(rope, SpecContext.Positive) : DefaultRopeBase,
            TieEmbeddings = context.Property("TieEmbeddings") is { } tie ? context.Bool(tie) : true,
            QkNorm = context.Property("QkNorm") is { } qk ? context.Bool(qk) : true,
            MaxSequenceLengthValue = maxSequence,
            MaxSequenceLength = maxSequence is { } max ? context.Int(max, SpecContext.Positive) : null,
            NormEpsilon = context.Property("NormEpsilon") is { } eps ? context.Double(eps, SpecContext.Positive) : DefaultNormEpsilon,
            ValidationFraction = context.Property("ValidationFraction") is { } vf
                ? context.Double(vf, (v => v > 0 && v <= 0.5, "greater than 0 and at most 0.5"))
                : DefaultValidationFraction,
        };
    }

    /// <summary>SwiGLU keeps the parameter count of a 4x MLP with 8/3 x ModelDim, rounded up to a multiple of 64 for the kernels.</summary>
    public static long DefaultFfnDim(int modelDim)
    {
        var ffn = (8L * modelDim + 2) / 3;
        return (ffn + 63) / 64 * 64;
    }

    /// <summary>Without HeadDim every head is ModelDim / Heads wide, so Heads must divide ModelDim into an even width; with it (checked there), any Heads will do.</summary>
    private static void CheckHeads(SpecContext context, int? modelDim, int? heads, int? kvHeads, RawValue? kvHeadsValue, int? headDim)
    {
        if (modelDim is int dim && heads is int h && headDim is null && context.Property("HeadDim") is null)
        {
            var location = context.Property("Heads")?.Location ?? context.Locator.Project;
            if (dim % h != 0)
                context.Error(DiagnosticCodes.HeadsDoNotDivideModelDim, location,
                    $"Heads ({h}) must divide ModelDim ({dim}) so every head has the same width. Choose Heads among the divisors of {dim}, or change ModelDim.");
            else if (dim / h % 2 != 0)
                context.Error(DiagnosticCodes.OddHeadDim, location,
                    $"The head dimension ModelDim/Heads = {dim}/{h} = {dim / h} is odd, but RoPE rotates pairs of dimensions. Choose ModelDim and Heads so that ModelDim/Heads is even.");
        }
        if (heads is int hs && kvHeads is int kvh && hs % kvh != 0)
            context.Error(DiagnosticCodes.KvHeadsDoNotDivideHeads, kvHeadsValue?.Location ?? context.Property("Heads")?.Location ?? context.Locator.Project,
                $"KvHeads ({kvh}) must divide Heads ({hs}): grouped-query attention shares each key/value head among Heads/KvHeads query heads. Choose KvHeads among the divisors of {hs}.");
    }

    private static DeterminismMode? ReadDeterminism(SpecContext context)
    {
        var value = context.Property("AfmDeterminism");
        var mode = value is not { } raw ? DeterminismMode.Portable
            : context.Choice(raw, DiagnosticCodes.InvalidDeterminism, ("portable", DeterminismMode.Portable), ("machine", DeterminismMode.Machine));
        if (mode == DeterminismMode.Portable && !PortableDeterminism.CpuSupported)
            context.Warning(DiagnosticCodes.PortableDeterminismUnsupportedCpu, value?.Location ?? context.Locator.Project,
                "AfmDeterminism is portable, but this CPU lacks AVX2 or FMA, so its numeric kernels differ from those of other machines: " +
                "artifacts built here are reproducible only on machines like this one. Build on an x86-64 CPU with AVX2 and FMA, or set AfmDeterminism to machine to say so.");
        return mode;
    }

    /// <summary>AfmOnnxOps: standard or fused; fused only for a head width GroupQueryAttention runs.</summary>
    private static OnnxOps? ReadOnnxOps(SpecContext context, int? headDim)
    {
        if (context.Property("AfmOnnxOps") is not { } value) return null;
        var ops = context.Choice(value, DiagnosticCodes.InvalidOnnxOps, ("standard", Spec.OnnxOps.Standard), ("fused", Spec.OnnxOps.Fused));
        if (ops == Spec.OnnxOps.Fused && headDim is int width && !OnnxOpsNames.FusedSupports(width))
        {
            context.Error(DiagnosticCodes.FusedOpsUnsupportedHeadDim, value.Location,
                $"AfmOnnxOps is fused, but the head width is {width}, and ONNX Runtime's GroupQueryAttention runs only widths that are a multiple of 8. " +
                "Choose ModelDim/Heads (or HeadDim) a multiple of 8, or remove AfmOnnxOps (the standard graph is then exported).");
            return null;
        }
        return ops;
    }

    private static string? ReadName(SpecContext context)
    {
        if (context.Property("ModelName") is not { } value)
            return Path.GetFileNameWithoutExtension(context.Snapshot.ProjectPath);
        if (SafeName().IsMatch(value.Text)) return value.Text;
        context.Error(DiagnosticCodes.InvalidName, value.Location,
            $"ModelName is '{value.Text}', but it names the package file, so use only letters, digits, '.', '-' and '_', starting with a letter or digit.");
        return null;
    }

    private static string? ReadVersion(SpecContext context)
    {
        if (context.Property("Version") is not { } value) return "1.0.0";
        if (SemVer().IsMatch(value.Text)) return value.Text;
        context.Error(DiagnosticCodes.InvalidVersion, value.Location,
            $"Version is '{value.Text}', which is not a semantic version. Write MAJOR.MINOR.PATCH, such as 1.0.0 or 0.2.0-preview.1.");
        return null;
    }
}
