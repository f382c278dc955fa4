using Afm.Runtime;
namespace Afm.Serving;

/// <summary>
/// GET /v1/models: the base model, then one entry per usable adapter with the id a request selects it by
/// (<c>"name:adapter"</c>) and what it is (kind, rank, version). Adapters the artifact carries but cannot use
/// (trained for another base) are not listed; requesting one answers why. GET /v1/models/{id} answers one entry.
/// <c>created</c> is when the artifact file was written (<see cref="AfmModel.WrittenUnixSeconds"/>), for the adapters too.
/// </summary>
internal static class ModelList
{
    public static object Of(AfmModel model) => new { @object = "list", data = Entries(model).Select(e => e.Entry).ToList() };

    /// <summary>GET /v1/models/{id}: the entry GET /v1/models lists under that id, or null.</summary>
    public static object? Find(AfmModel model, string id) => Entries(model).FirstOrDefault(e => e.Id == id).Entry;

    private static IEnumerable<(string Id, object Entry)> Entries(AfmModel model)
    {
        yield return (model.Id, new { id = model.Id, @object = "model", created = model.WrittenUnixSeconds, owned_by = "afm", version = model.Manifest.Version });
        foreach (var adapter in model.Adapters.Available)
        {
            var d = adapter.Description;
            var id = $"{model.Id}:{d.Name}";
            yield return (id, new
            {
                id, @object = "model", created = model.WrittenUnixSeconds, owned_by = "afm", version = d.Version,
                parent = model.Id, adapter = d.Name, kind = d.Kind, rank = d.Rank,
            });
        }
    }
}
