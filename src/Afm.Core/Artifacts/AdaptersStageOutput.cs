namespace Afm.Core.Artifacts;

/// <summary>One trained adapter the adapters stage left: its name and folder (<c>adapters/&lt;name&gt;/</c>).</summary>
public sealed record TrainedAdapterFolder(string Name, string Folder)
{
    /// <summary>The adapter's weights, <c>adapter.safetensors</c> (specs/adapters.md).</summary>
    public string Weights => Path.Combine(Folder, StageLayout.Adapters.Adapter.Weights);
}

/// <summary>
/// The trained adapters in an adapters folder, found one way by every stage after it (export-adapters, the GGUF and
/// Hugging Face exports, the packager; issue #21): each subfolder that holds an <c>adapter.safetensors</c>, ordered by
/// name (ordinal). The SDK's Inputs of export-adapters use the same rule (the glob
/// <c>adapters/*/adapter.safetensors</c> in Afm.Stages.targets), which is why this is a folder listing and not the
/// stage's report: MSBuild can glob but cannot read JSON, and the two must agree on what re-runs export-adapters and
/// what it compiles. The adapters stage deletes folders its project no longer declares, so after it both are the
/// report's adapters; a folder added by hand is compiled, and checked (a foreign base is AFM7006), not skipped.
/// </summary>
public static class AdaptersStageOutput
{
    /// <summary>Every trained adapter under <paramref name="adaptersDirectory"/>; none when it is empty or absent.</summary>
    public static IReadOnlyList<TrainedAdapterFolder> Adapters(string? adaptersDirectory)
    {
        if (adaptersDirectory is not { Length: > 0 } || !Directory.Exists(adaptersDirectory)) return [];
        return Directory.EnumerateDirectories(adaptersDirectory)
            .Select(folder => new TrainedAdapterFolder(Path.GetFileName(folder), folder))
            .Where(a => File.Exists(a.Weights))
            .OrderBy(a => a.Name, StringComparer.Ordinal)
            .ToList();
    }
}
