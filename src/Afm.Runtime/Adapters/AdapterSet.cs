using Afm.Core.Artifacts;
using Afm.Onnx.Adapters;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Runtime.Adapters;

/// <summary>An adapter of the artifact, loaded in ONNX Runtime and ready to be activated for a call.</summary>
public sealed record LoadedAdapter(AdapterDescription Description, OrtLoraAdapter Handle)
{
    public string Name => Description.Name;
}

/// <summary>
/// The adapters an artifact carries (<c>adapters/&lt;name&gt;.onnx_adapter</c> + <c>adapters/&lt;name&gt;.json</c>), loaded
/// once with <see cref="OrtLoraAdapter"/> and shared by every call (ORT only reads them). An adapter trained on another
/// base than the graph's (its base_sha256 is not the graph's <c>afm.base_sha256</c>) is not loaded: asking for it is
/// refused with AFM7006 and the reason, while the base model and the other adapters stay usable.
/// </summary>
public sealed class AdapterSet : IDisposable
{
    private readonly SortedDictionary<string, LoadedAdapter> loaded = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, AdapterException> refused = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> files = new(StringComparer.Ordinal);
    private readonly ScaledAdapters scaled = new();

    /// <summary>The largest scale (in absolute value) an adapter may be run at; 1 is the adapter as trained.</summary>
    public const double MaxScale = 4;

    public static AdapterSet Empty { get; } = new();

    /// <summary>Adapters that can be activated, by name.</summary>
    public IReadOnlyCollection<LoadedAdapter> Available => loaded.Values;
    /// <summary>Adapters the artifact carries that cannot be used with its graph, with why.</summary>
    public IReadOnlyDictionary<string, AdapterException> Refused => refused;

    /// <param name="graphInputs">The session's input names: every adapter parameter must be one of them.</param>
    public static AdapterSet Load(string artifactDirectory, string? baseSha256, IReadOnlyCollection<string> graphInputs)
    {
        var set = new AdapterSet();
        var folder = Path.Combine(artifactDirectory, ArtifactLayout.AdaptersFolder);
        if (!Directory.Exists(folder)) return set;
        try
        {
            foreach (var descriptionFile in Directory.EnumerateFiles(folder, "*" + AdapterDescription.Extension).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileNameWithoutExtension(descriptionFile);
                try
                {
                    set.loaded[name] = Open(descriptionFile, name, baseSha256, graphInputs);
                    set.files[name] = Path.Combine(folder, name + OnnxAdapterFormat.Extension);
                }
                catch (AdapterException e)
                {
                    set.refused[name] = e;
                }
            }
        }
        catch
        {
            set.Dispose();
            throw;
        }
        return set;
    }

    private static LoadedAdapter Open(string descriptionFile, string name, string? baseSha256, IReadOnlyCollection<string> graphInputs)
    {
        var description = AdapterDescription.Parse(File.ReadAllText(descriptionFile), $"{ArtifactLayout.AdaptersFolder}{Path.GetFileName(descriptionFile)}");
        if (description.Name != name)
            throw new AdapterException(AdapterCodes.Invalid, $"{ArtifactLayout.AdaptersFolder}{name}.json describes an adapter named '{description.Name}'.");
        if (baseSha256 is null || !string.Equals(description.BaseSha256, baseSha256, StringComparison.OrdinalIgnoreCase))
            throw new AdapterException(AdapterCodes.BaseMismatch,
                $"adapter '{name}' was trained for base weights {description.BaseSha256}, but this artifact's model.onnx was exported from " +
                $"{baseSha256 ?? "weights it does not record"}; it cannot be used with this model.");
        var path = Path.Combine(Path.GetDirectoryName(descriptionFile)!, name + OnnxAdapterFormat.Extension);
        if (!File.Exists(path)) throw new AdapterException(AdapterCodes.Invalid, $"adapter '{name}' has a description but no {name}{OnnxAdapterFormat.Extension}.");

        OnnxAdapter content;
        try { content = OnnxAdapterFormat.Read(File.ReadAllBytes(path)); }
        catch (InvalidDataException e) { throw new AdapterException(AdapterCodes.Invalid, $"adapter '{name}': {e.Message}"); }
        var strangers = content.Parameters.Select(p => p.Name).Where(p => !graphInputs.Contains(p)).ToList();
        if (strangers.Count > 0)
            throw new AdapterException(AdapterCodes.Invalid, $"adapter '{name}' sets {string.Join(", ", strangers.Take(3))}, which the model has no input for.");
        return new LoadedAdapter(description, OrtLoraAdapter.Create(path, null));
    }

    /// <summary>The adapter named <paramref name="name"/>; AFM7005 if the artifact has none of that name, AFM7006/7007 if it was refused.</summary>
    public LoadedAdapter Resolve(string name, string source)
    {
        if (loaded.TryGetValue(name, out var adapter)) return adapter;
        if (refused.TryGetValue(name, out var reason)) throw RuntimeCodes.Error(reason.Code, source, reason.Message);
        var known = loaded.Count == 0 ? "it carries no adapters" : "its adapters are " + string.Join(", ", loaded.Keys);
        throw RuntimeCodes.Error(RuntimeCodes.AdapterNotAvailable, source, $"the artifact has no adapter '{name}'; {known}.");
    }

    /// <summary>
    /// The adapter <paramref name="name"/> (null: none) at <paramref name="scale"/> for one generation: as loaded at 1,
    /// none at 0, else a scaled copy (<see cref="ScaledAdapters"/>). Errors as <see cref="Resolve"/>.
    /// </summary>
    public AdapterLease Activate(string? name, double scale, string source)
    {
        if (name is null || scale == 0) return AdapterLease.None;
        var adapter = Resolve(name, source);
        return scale == 1 ? new AdapterLease(adapter.Handle, name) : scaled.Rent(adapter, files[name], scale);
    }

    /// <summary>Scaled copies held now (at most <see cref="ScaledAdapters.Capacity"/>).</summary>
    internal int ScaledCopies => scaled.Count;

    public bool Contains(string name) => loaded.ContainsKey(name) || refused.ContainsKey(name);

    public void Dispose()
    {
        scaled.Dispose();
        foreach (var adapter in loaded.Values) adapter.Handle.Dispose();
        loaded.Clear();
    }
}
