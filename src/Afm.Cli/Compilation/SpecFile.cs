using System.Text.Json;
using Afm.Core.Spec;

namespace Afm.Cli.Compilation;

/// <summary>spec.json: the validated <see cref="ModelSpec"/> that every stage after validate reads.</summary>
public static class SpecFile
{
    /// <summary>The toolchain's one JSON style (<see cref="SpecJson"/>, in Afm.Core so library stages write alike).</summary>
    public static JsonSerializerOptions Options => SpecJson.Options;

    public static string Serialize<T>(T value) => SpecJson.Serialize(value);

    /// <summary>Reads a spec.json; a file that is not one (a person can name any file) is AFM8002 at its path.</summary>
    public static ModelSpec Load(string path) => InputFile.Load(path, "spec.json written by `afm validate`", InputFile.NotWhatItShouldBe, path =>
        JsonSerializer.Deserialize<ModelSpec>(File.ReadAllText(path), Options) ?? throw new InvalidDataException("it holds null"));
}
