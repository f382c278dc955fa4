using Afm.Core.Artifacts;
namespace Afm.Packaging;

/// <summary>
/// The default artifact is what a runtime deploys (specs/artifact.md): the sources a later stage compiled into a
/// deployable entry stay out unless the project sets <c>AfmPackageSources=true</c> (<c>afm package --sources</c>).
/// With a QuantizationPlan the graph holds the quantized weights, so the float <see cref="ArtifactLayout.Weights"/> is
/// only a source; an adapter's <c>adapters/&lt;name&gt;/adapter.safetensors</c> is one once its <c>.onnx_adapter</c> is packaged.
/// </summary>
public static class DeployLayout
{
    /// <summary>The MSBuild property that keeps the sources; named in messages that need them.</summary>
    public const string SourcesProperty = "AfmPackageSources";

    /// <summary>Removes the source entries from <paramref name="entries"/> and returns their names, sorted.</summary>
    public static List<string> RemoveSources(SortedDictionary<string, ArtifactEntry> entries)
    {
        var sources = new List<string>();
        if (entries.ContainsKey(ArtifactLayout.QuantizedWeights)) sources.Add(ArtifactLayout.Weights);
        foreach (var name in entries.Keys)
        {
            // adapters/<name>/adapter.safetensors beside adapters/<name>.onnx_adapter: the trained file ORT's format was compiled from.
            if (!name.StartsWith(ArtifactLayout.AdaptersFolder, StringComparison.Ordinal) || !name.EndsWith("/" + AdapterSourceFile, StringComparison.Ordinal)) continue;
            var adapter = name[ArtifactLayout.AdaptersFolder.Length..^(AdapterSourceFile.Length + 1)];
            if (adapter.Length > 0 && !adapter.Contains('/') && entries.ContainsKey($"{ArtifactLayout.AdaptersFolder}{adapter}{Afm.Onnx.Adapters.OnnxAdapterFormat.Extension}"))
                sources.Add(name);
        }
        sources.RemoveAll(s => !entries.ContainsKey(s));
        foreach (var source in sources) entries.Remove(source);
        sources.Sort(StringComparer.Ordinal);
        return sources;
    }

    private const string AdapterSourceFile = Afm.Training.Adapters.AdapterFile.FileName;
}
