using Afm.Onnx.Export;
using Afm.Onnx.Proto;
using Afm.Runtime.Sessions;
using Google.Protobuf;

namespace Afm.Runtime.Tests;

/// <summary>
/// The session sizes each layer's cache by the graph's afm.layer_kv_heads (specs/onnx-export.md), falls back to
/// afm.kv_heads for every layer without it, and refuses a list that does not describe the graph's layers.
/// </summary>
public sealed class LayerKvHeadsMetadataTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-runtime-tests", Guid.NewGuid().ToString("N")[..12]);

    private string Graph(string? layerKvHeads)
    {
        Directory.CreateDirectory(directory);
        var proto = ModelProto.Parser.ParseFrom(DecoderExporter.Export(TestArtifact.RandomDecoder(64), "test"));
        if (layerKvHeads is not null) proto.MetadataProps.Add(new StringStringEntryProto { Key = DecoderNames.Metadata.LayerKvHeads, Value = layerKvHeads });
        var path = Path.Combine(directory, Guid.NewGuid().ToString("N")[..8] + ".onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        return path;
    }

    [Fact]
    public void A_uniform_graph_has_no_list_and_every_layer_gets_afm_kv_heads()
    {
        Assert.DoesNotContain(ModelProto.Parser.ParseFrom(File.ReadAllBytes(Graph(null))).MetadataProps, p => p.Key == DecoderNames.Metadata.LayerKvHeads);
        using var session = new DecoderSession(Graph(null), new RuntimeOptions());
        Assert.Equal([2, 2], session.LayerKvHeads);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("2,2,2")]
    [InlineData("2,x")]
    [InlineData("2,0")]
    [InlineData("2,-2")]
    public void A_list_that_does_not_give_every_layer_a_positive_count_is_refused(string list)
    {
        var path = Graph(list);
        var error = Assert.Throws<InvalidDataException>(() => new DecoderSession(path, new RuntimeOptions()));
        Assert.Contains(DecoderNames.Metadata.LayerKvHeads, error.Message);
        Assert.Contains("2 positive whole numbers", error.Message);
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
