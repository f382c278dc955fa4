using System.Text;
using System.Text.Json.Nodes;
using Afm.Core.Artifacts;
using Afm.Core.Spec;

namespace Afm.Packaging;

/// <summary>
/// provenance.json: an in-toto Statement v1 whose predicate is SLSA Provenance v1 (specs/artifact.md, "Provenance").
/// It records what the manifest cannot say about itself: the build's inputs by role, the parameters that change the
/// outputs, and the builder. It holds nothing machine-specific (no absolute path, user, host or time: SLSA's optional
/// runDetails.metadata timestamps are left out on purpose), so it is as reproducible as every other entry, and the
/// manifest lists it, so the signature covers it.
/// </summary>
public static class ProvenanceStatement
{
    public const string StatementType = "https://in-toto.io/Statement/v1";
    public const string PredicateType = "https://slsa.dev/provenance/v1";
    /// <summary>What the build does, as SLSA's buildType: a URI naming this document's format, versioned with it.</summary>
    public const string BuildType = "urn:afm:buildtype:afmpkg:v1";
    public const string BuilderId = "urn:afm:builder:afm-package";

    /// <param name="entries">The artifact's entries so far (the subject); the manifest and signature come later.</param>
    public static byte[] Create(ModelSpec spec, IReadOnlyList<BuildInputs.Input> inputs, IReadOnlyList<string> stages,
        bool sources, string toolchainVersion, IReadOnlyDictionary<string, ArtifactEntry> entries)
    {
        var subject = new JsonArray(entries.OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => (JsonNode)new JsonObject { ["name"] = e.Key, ["digest"] = Sha256(e.Value.Sha256) }).ToArray());
        var dependencies = new JsonArray(inputs
            .Select(i => (JsonNode)new JsonObject
            {
                ["uri"] = i.File.Path,
                ["digest"] = Sha256(i.File.Sha256),
                ["annotations"] = new JsonObject { ["role"] = i.Role, ["size"] = i.File.Size },
            }).ToArray());
        if (SourceCommit(toolchainVersion) is { } commit)
            dependencies.Add(new JsonObject { ["name"] = "AfmToolchain", ["digest"] = new JsonObject { ["gitCommit"] = commit } });
        var statement = new JsonObject
        {
            ["_type"] = StatementType,
            ["subject"] = subject,
            ["predicateType"] = PredicateType,
            ["predicate"] = new JsonObject
            {
                ["buildDefinition"] = new JsonObject
                {
                    ["buildType"] = BuildType,
                    ["externalParameters"] = new JsonObject
                    {
                        ["project"] = inputs.Single(i => i.Role == "project").File.Path,
                        ["name"] = spec.Name,
                        ["version"] = spec.Version,
                        ["seed"] = spec.Seed,
                        ["threads"] = spec.Threads,
                        ["determinism"] = spec.Determinism.ToString().ToLowerInvariant(),
                        ["packageSources"] = sources,
                    },
                    ["internalParameters"] = new JsonObject { ["stages"] = new JsonArray(stages.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray()) },
                    ["resolvedDependencies"] = dependencies,
                },
                ["runDetails"] = new JsonObject
                {
                    ["builder"] = new JsonObject { ["id"] = BuilderId, ["version"] = new JsonObject { ["AfmToolchain"] = toolchainVersion } },
                },
            },
        };
        // The toolchain's one JSON style (indented, `+` not escaped), like manifest.json.
        return new UTF8Encoding(false).GetBytes(SpecJson.Serialize(statement));
    }

    private static JsonObject Sha256(string hex) => new() { ["sha256"] = hex };

    /// <summary>The commit in an informational version such as <c>0.1.0+3f2a…</c>, when the build knew it.</summary>
    private static string? SourceCommit(string version) =>
        version.IndexOf('+') is var plus and >= 0 && version[(plus + 1)..] is { Length: >= 7 } commit && commit.All(Uri.IsHexDigit) ? commit : null;
}
