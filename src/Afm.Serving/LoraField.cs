using System.Text.Json;
using Afm.Runtime.Adapters;

namespace Afm.Serving;

/// <summary>
/// llama-server's per-request LoRA field, <c>"lora": [{"id": 0, "scale": 0.5}]</c>: <c>id</c> is the adapter's place in
/// GET /lora-adapters (the artifact's usable adapters by name, as GET /v1/models lists them), and an adapter left out runs
/// at scale 0, as in llama-server. ONNX Runtime activates one adapter per run (every adapter sets the same graph
/// inputs), so at most one entry may have a scale other than 0.
/// </summary>
internal static class LoraField
{
    /// <summary>The adapter and scale the field asks for (a null name: the base model); null when the request has no field.</summary>
    public static (string? Name, double Scale)? Read(JsonElement root, IReadOnlyList<string> adapters)
    {
        if (!root.TryGetProperty("lora", out var lora) || lora.ValueKind == JsonValueKind.Null) return null;
        if (lora.ValueKind != JsonValueKind.Array)
            throw new ApiError(400, "'lora' must be an array of {\"id\", \"scale\"} objects.", "lora");
        var chosen = new Dictionary<long, double>();
        foreach (var entry in lora.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("id", out _) || !entry.TryGetProperty("scale", out _))
                throw new ApiError(400, "Every 'lora' entry must be an object with an 'id' and a 'scale'.", "lora");
            long id = Whole(entry, adapters.Count);
            var given = entry.GetProperty("scale");
            if (given.ValueKind != JsonValueKind.Number || !given.TryGetDouble(out var scale) || !(Math.Abs(scale) <= AdapterSet.MaxScale))
                throw new ApiError(400, $"A 'lora' scale must be a number between -{AdapterSet.MaxScale} and {AdapterSet.MaxScale}.", "lora");
            if (!chosen.TryAdd(id, scale)) throw new ApiError(400, $"'lora' names adapter {id} twice.", "lora");
        }
        var active = chosen.Where(c => c.Value != 0).ToList();
        if (active.Count > 1)
            throw new ApiError(400, "'lora' may give a scale other than 0 to one adapter only: every adapter sets the same inputs of the model's graph.", "lora");
        return active.Count == 0 ? (null, 0) : (adapters[(int)active[0].Key], active[0].Value);
    }

    private static long Whole(JsonElement entry, int count)
    {
        var id = entry.GetProperty("id");
        if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt64(out var value) || value < 0 || value >= count)
            throw new ApiError(400, count == 0 ? "'lora' names an adapter, but this model has none."
                : $"A 'lora' id must be a whole number from 0 to {count - 1} (GET /lora-adapters lists them).", "lora");
        return value;
    }
}
