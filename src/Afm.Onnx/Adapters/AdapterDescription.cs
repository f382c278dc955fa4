using System.Text.Json;
using System.Text.Json.Serialization;

namespace Afm.Onnx.Adapters;

/// <summary>
/// The sidecar <c>adapters/&lt;name&gt;.json</c> beside each <c>.onnx_adapter</c> in the artifact. ORT's adapter format
/// has integer adapter/model versions only, so what it cannot hold lives here: the adapter's own version string,
/// kind, rank, and the SHA-256 of the base weights it was trained on, which the runtime compares with the
/// graph's <c>afm.base_sha256</c> before it will activate the adapter (specs/artifact.md).
/// </summary>
public sealed record AdapterDescription(
    string Format, string Name, string Kind, int Rank, string Version, int AdapterVersion, string BaseSha256, int Parameters)
{
    public const string CurrentFormat = "afm-adapter/1";
    public const string Extension = ".json";

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Options) + "\n";

    public static AdapterDescription Parse(string json, string source)
    {
        AdapterDescription? description;
        try { description = JsonSerializer.Deserialize<AdapterDescription>(json, Options); }
        catch (JsonException e) { throw new AdapterException(AdapterCodes.Invalid, $"{source} is not an adapter description ({e.Message})."); }
        if (description is null || description.Format != CurrentFormat || string.IsNullOrEmpty(description.Name) || string.IsNullOrEmpty(description.BaseSha256))
            throw new AdapterException(AdapterCodes.Invalid, $"{source} is not an adapter description of format {CurrentFormat}.");
        return description;
    }
}
