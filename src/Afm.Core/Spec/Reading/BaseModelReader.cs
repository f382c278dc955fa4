using System.Globalization;
using Afm.Core.Artifacts;

namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads the &lt;BaseModel&gt; item (at most one): the checkpoint folder, read by the layout's reader (the compiler
/// passes Afm.Interchange's), and its files hashed. With a base, the architecture and the tokenizer are the base's: a
/// property the project still sets must agree with it (AFM1603), a &lt;Tokenizer&gt; item is an error (AFM1604).
/// </summary>
internal static class BaseModelReader
{
    public sealed record Result(BaseModelSpec Spec, ArchitectureSpec Architecture, ItemView Item);

    /// <summary>True when the project declares a BaseModel (whether or not it can be read): the reader then expects no architecture properties.</summary>
    public static bool Declared(SpecContext context) => context.Items("BaseModel").Count > 0;

    public static Result? Read(SpecContext context, IBaseModelFormat? format)
    {
        var items = context.Items("BaseModel");
        if (items.Count == 0) return null;
        foreach (var extra in items.Skip(1))
            context.Error(DiagnosticCodes.MultipleBaseModels, extra.Location,
                $"The project declares {items.Count} base models, but a model starts from one. Remove this <BaseModel> or the one declared first.");
        var item = items[0];
        item.WarnAboutUnknownMetadata([]);
        var folder = Path.TrimEndingDirectorySeparator(item.FullPath);
        if (!Directory.Exists(folder))
        {
            context.Error(DiagnosticCodes.BaseModelFolderNotFound, item.IncludeLocation,
                $"BaseModel '{item.Include}' is not a folder (looked for {folder}). Point Include at the checkpoint's folder (the one with config.json); it is relative to this project's folder.");
            return null;
        }
        if (format is null)
        {
            context.Error(DiagnosticCodes.BaseModelNotReadable, item.IncludeLocation,
                $"BaseModel '{item.Include}' cannot be read by this caller of the project reader, which has no checkpoint reader; build the project with `dotnet build` (afm validate reads it).");
            return null;
        }
        BaseModelDescription description;
        try
        {
            description = format.Describe(folder);
        }
        catch (BaseModelException e)
        {
            context.Error(e.Code, item.IncludeLocation, $"BaseModel '{item.Include}': {e.Message}");
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Error(DiagnosticCodes.BaseModelNotReadable, item.IncludeLocation, $"BaseModel '{item.Include}' cannot be read: {e.Message}");
            return null;
        }
        var files = description.Files
            .Select(f => new BaseModelFile(Path.GetRelativePath(folder, f).Replace('\\', '/'), new FileInfo(f).Length, Hashing.Sha256OfFile(f)))
            .OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
        var spec = new BaseModelSpec
        {
            Folder = folder,
            Format = description.Format,
            Architecture = description.Architecture,
            Files = files,
            BosTokenId = description.BosTokenId,
            EosTokenIds = description.EosTokenIds,
            Location = item.Location,
        };
        return new Result(spec, description.Spec, item);
    }

    /// <summary>
    /// The project's properties with the base's architecture in them, after reporting every property the project sets
    /// that disagrees with the base. MaxSequenceLength may shorten the base's context, never lengthen it.
    /// </summary>
    public static ProjectProperties Merge(SpecContext context, ProjectProperties p, Result baseModel)
    {
        var a = baseModel.Architecture;
        void Agree<T>(string name, T? written, T actual, string shown) where T : struct
        {
            if (context.Property(name) is { } value && written is T w && !EqualityComparer<T>.Default.Equals(w, actual))
                context.Error(DiagnosticCodes.PropertyDisagreesWithBaseModel, value.Location,
                    $"{value.What} is {value.Text}, but BaseModel '{baseModel.Item.Include}' has {shown}; the architecture comes from the base. Remove {name} (or set it to the base's value).");
        }
        string Shape(Func<LayerShape, int> of, int uniform) =>
            a.LayerShapes is null ? uniform.ToString(CultureInfo.InvariantCulture) : "per-layer values " + string.Join(", ", a.LayerShapes.Select(of));
        Agree("ModelDim", p.ModelDim, a.ModelDim, a.ModelDim.ToString(CultureInfo.InvariantCulture));
        Agree("Layers", p.Layers, a.Layers, a.Layers.ToString(CultureInfo.InvariantCulture));
        Agree("Heads", p.Heads, a.LayerShapes is null ? a.Heads : -1, Shape(s => s.Heads, a.Heads));
        Agree("KvHeads", p.KvHeads, a.LayerShapes is null ? a.KvHeads : -1, Shape(s => s.KvHeads, a.KvHeads));
        Agree("FfnDim", p.FfnDim, a.LayerShapes is null ? a.FfnDim : -1L, Shape(s => s.FfnDim, a.FfnDim));
        Agree("RopeBase", p.RopeBase, a.RopeBase, a.RopeBase.ToString("R", CultureInfo.InvariantCulture));
        Agree("TieEmbeddings", p.TieEmbeddings, a.TieEmbeddings, a.TieEmbeddings ? "true" : "false");
        Agree("QkNorm", p.QkNorm, a.QkNorm, a.QkNorm ? "true" : "false");
        Agree("NormEpsilon", p.NormEpsilon, a.NormEpsilon, a.NormEpsilon.ToString("R", CultureInfo.InvariantCulture));
        Agree("HeadDim", p.HeadDim, a.HeadDim, a.HeadDim.ToString(CultureInfo.InvariantCulture));
        Agree("AttentionBias", p.AttentionBias, a.AttentionBias, a.AttentionBias ? "true (q/k/v biases)" : "false");
        var baseShapes = Enumerable.Range(0, a.Layers).Select(a.Layer).ToList();
        if (context.Property("LayerWiseScaling") is { } scaling && p.LayerShapes is { } shapes && !shapes.SequenceEqual(baseShapes))
            context.Error(DiagnosticCodes.PropertyDisagreesWithBaseModel, scaling.Location,
                $"{scaling.What} gives layers of ({string.Join("; ", shapes.Select(s => $"{s.Heads}, {s.KvHeads}, {s.FfnDim}"))}) heads, kv heads and FFN width, " +
                $"but BaseModel '{baseModel.Item.Include}' has ({string.Join("; ", baseShapes.Select(s => $"{s.Heads}, {s.KvHeads}, {s.FfnDim}"))}); the architecture comes from the base. Remove LayerWiseScaling and its properties.");
        if (p.MaxSequenceLengthValue is { } max && p.MaxSequenceLength is int m && m > a.MaxSequenceLength)
            context.Error(DiagnosticCodes.SequenceLengthBeyondBaseModel, max.Location,
                $"{max.What} is {m}, but BaseModel '{baseModel.Item.Include}' was made for contexts of at most {a.MaxSequenceLength}; RoPE positions beyond it were never trained. " +
                $"Lower MaxSequenceLength to {a.MaxSequenceLength} or less, or remove it.");
        return p with
        {
            ModelDim = a.ModelDim, Layers = a.Layers, Heads = a.Heads, KvHeads = a.KvHeads, FfnDim = a.FfnDim,
            RopeBase = a.RopeBase, TieEmbeddings = a.TieEmbeddings, QkNorm = a.QkNorm, NormEpsilon = a.NormEpsilon,
            HeadDim = a.ExplicitHeadDim, AttentionBias = a.AttentionBias, LayerShapes = a.LayerShapes,
            MaxSequenceLength = p.MaxSequenceLength is int shorter && shorter <= a.MaxSequenceLength ? shorter : a.MaxSequenceLength,
        };
    }

    /// <summary>The base's tokenizer (the tokenizer stage takes it from the checkpoint); a &lt;Tokenizer&gt; item is an error.</summary>
    public static TokenizerSpec Tokenizer(SpecContext context, Result baseModel)
    {
        foreach (var item in context.Items("Tokenizer"))
            context.Error(DiagnosticCodes.TokenizerWithBaseModel, item.Location,
                $"{item.Describe} would train a new vocabulary, but the model's embeddings belong to the tokenizer of BaseModel '{baseModel.Item.Include}', which the project uses. Remove the <Tokenizer> item.");
        return new TokenizerSpec
        {
            Kind = TokenizerSpec.BaseModelKind,
            VocabSize = baseModel.Architecture.VocabSize,
            SplitDigits = false,
            ByteFallback = false,
            SpecialTokens = [],
            Location = baseModel.Item.Location,
        };
    }

    /// <summary>The final architecture: the base's, with the context the project chose (at most the base's).</summary>
    public static ArchitectureSpec Architecture(Result baseModel, ProjectProperties merged) =>
        baseModel.Architecture with { MaxSequenceLength = merged.MaxSequenceLength ?? baseModel.Architecture.MaxSequenceLength };
}
