namespace Afm.Runtime.Serving;

/// <summary>
/// GET /v1/models: the base model, then one entry per usable adapter with the id a request selects it by
/// (<c>"name:adapter"</c>) and what it is (kind, rank, version). Adapters the artifact carries but cannot use
/// (trained for another base) are not listed; requesting one answers why.
/// </summary>
internal static class ModelList
{
    public static object Of(AfmModel model)
    {
        var entries = new List<object>
        {
            new { id = model.Id, @object = "model", created = 0, owned_by = "afm", version = model.Manifest.Version },
        };
        foreach (var adapter in model.Adapters.Available)
        {
            var d = adapter.Description;
            entries.Add(new
            {
                id = $"{model.Id}:{d.Name}", @object = "model", created = 0, owned_by = "afm", version = d.Version,
                parent = model.Id, adapter = d.Name, kind = d.Kind, rank = d.Rank,
            });
        }
        return new { @object = "list", data = entries };
    }
}
