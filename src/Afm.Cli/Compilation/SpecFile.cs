using System.Text.Json;
using System.Text.Json.Serialization;
using Afm.Core.Spec;

namespace Afm.Cli.Compilation;

/// <summary>spec.json: the validated <see cref="ModelSpec"/> that every stage after validate reads.</summary>
public static class SpecFile
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

    /// <summary>Reads a spec.json; a file that is not one (a person can name any file) is AFM8002 at its path.</summary>
    public static ModelSpec Load(string path) => InputFile.Load(path, "spec.json written by `afm validate`", InputFile.NotWhatItShouldBe, path =>
        JsonSerializer.Deserialize<ModelSpec>(File.ReadAllText(path), Options) ?? throw new InvalidDataException("it holds null"));
}
