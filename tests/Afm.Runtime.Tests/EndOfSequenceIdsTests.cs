using Afm.Runtime.Generation;

namespace Afm.Runtime.Tests;

/// <summary>spec.json's baseModel.eosTokenIds (generation_config.json's eos_token_id, one id or a list) are the runtime's extra stops.</summary>
public sealed class EndOfSequenceIdsTests : IDisposable
{
    private readonly string path = Path.Combine(Path.GetTempPath(), $"afm-spec-{Guid.NewGuid():N}.json");

    [Fact]
    public void Every_listed_eos_id_is_a_stop()
    {
        File.WriteAllText(path, """{ "name": "m", "baseModel": { "bosTokenId": 1, "eosTokenIds": [128001, 128009] } }""");
        Assert.Equal([128001, 128009], EndOfSequenceIds.FromSpec(path));
    }

    [Fact]
    public void A_model_trained_here_has_none()
    {
        File.WriteAllText(path, """{ "name": "m", "baseModel": null }""");
        Assert.Empty(EndOfSequenceIds.FromSpec(path));
    }

    [Fact]
    public void An_id_that_is_not_a_token_id_is_invalid_data()
    {
        File.WriteAllText(path, """{ "baseModel": { "eosTokenIds": [2, -1] } }""");
        Assert.Contains("'-1'", Assert.Throws<InvalidDataException>(() => EndOfSequenceIds.FromSpec(path)).Message);
    }

    public void Dispose() => File.Delete(path);
}
