using System.Text.Json;

namespace Afm.Runtime.Generation;

/// <summary>
/// The ids that end a generation besides the tokenizer's end-of-document: an imported checkpoint's eos ids
/// (generation_config.json's <c>eos_token_id</c>, a number or a list: Llama 3 instruct ends turns with two), which
/// <c>spec.json</c> carries as <c>baseModel.eosTokenIds</c> (specs/artifact.md).
/// </summary>
public static class EndOfSequenceIds
{
    /// <summary>The ids of the artifact's spec.json; none when it has no BaseModel or lists none.</summary>
    /// <exception cref="InvalidDataException">The list holds something other than whole numbers.</exception>
    public static IReadOnlyList<int> FromSpec(string specPath)
    {
        if (!File.Exists(specPath)) return [];
        using var document = JsonDocument.Parse(File.ReadAllBytes(specPath));
        if (!document.RootElement.TryGetProperty("baseModel", out var baseModel) || baseModel.ValueKind != JsonValueKind.Object
            || !baseModel.TryGetProperty("eosTokenIds", out var ids) || ids.ValueKind != JsonValueKind.Array) return [];
        return ids.EnumerateArray().Select(id => id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out int value) && value >= 0 ? value
            : throw new InvalidDataException($"{specPath}: baseModel.eosTokenIds holds '{id}', not a token id.")).ToList();
    }
}
