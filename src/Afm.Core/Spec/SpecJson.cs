using System.Text.Json;
using System.Text.Json.Serialization;

namespace Afm.Core.Spec;

/// <summary>
/// The JSON style of spec.json, the fingerprints, the reports the compiler writes and the artifact's manifest and
/// provenance: one set of options, so a library stage (the packager) and the compiler write alike.
/// </summary>
public static class SpecJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options) + "\n";
}
