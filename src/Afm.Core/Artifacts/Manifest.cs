using System.Reflection;

namespace Afm.Core.Artifacts;

/// <summary>
/// manifest.json of an .afmpkg: what is inside (every file with its SHA-256), what it was built from
/// (the inputs' hashes, the seed, thread count and determinism mode) and by what (the toolchain version). It holds no
/// timestamps or absolute paths, so two builds of the same inputs produce the same bytes.
/// </summary>
public sealed record Manifest
{
    public const string CurrentFormat = "afmpkg/1";

    public string Format { get; init; } = CurrentFormat;
    public required string Name { get; init; }
    public required string Version { get; init; }
    public required ToolchainInfo Toolchain { get; init; }
    public required long Seed { get; init; }
    public required int Threads { get; init; }
    /// <summary>"portable" or "machine" (specs/afmproj.md, AfmDeterminism): which machines reproduce these bytes; null in artifacts built before it was recorded.</summary>
    public string? Determinism { get; init; }
    /// <summary>Pipeline stages that ran to produce this artifact, in order.</summary>
    public required IReadOnlyList<string> Stages { get; init; }
    /// <summary>Files the build read: the project and every corpus/eval file, paths relative to the project.</summary>
    public required IReadOnlyList<HashedFile> Inputs { get; init; }
    /// <summary>Every other file in the package, paths inside the package.</summary>
    public required IReadOnlyList<HashedFile> Files { get; init; }
}

public sealed record ToolchainInfo(string Name, string Version)
{
    /// <summary>
    /// This toolchain: its version is the assemblies' informational version (with the commit when built from git), the
    /// same in every project of one build, so the manifest and the graphs the exporters write (their producer) agree.
    /// </summary>
    public static ToolchainInfo Current { get; } = new("AfmToolchain",
        typeof(ToolchainInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");
}

public sealed record HashedFile(string Path, long Size, string Sha256);
