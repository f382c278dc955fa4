using Afm.Onnx.Export;
using Afm.Runtime.Sessions;

namespace Afm.Runtime.Tests;

/// <summary>A graph with compressed weights decodes the same whether ONNX Runtime expands them at load or in every run.</summary>
public sealed class WeightExpansionTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-runtime-tests", Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public void Expanding_compressed_weights_on_the_fly_gives_the_logits_of_expanding_them_at_load()
    {
        var path = CompressedModel();
        using var atLoad = new DecoderSession(path, new RuntimeOptions { WeightExpansion = WeightExpansion.AtLoad });
        using var onTheFly = new DecoderSession(path, new RuntimeOptions { WeightExpansion = WeightExpansion.OnTheFly });
        using var cacheA = atLoad.NewCache();
        using var cacheB = onTheFly.NewCache();

        long[] next = [3, 17, 42, 5, 99];
        for (int step = 0; step < 4; step++)
        {
            var a = atLoad.Forward(next, cacheA);
            var b = onTheFly.Forward(next, cacheB);
            // Same expanded weights (the expansion is exact); only the Gemm kernel path may differ (prepacked constant or not).
            Assert.True(a.Zip(b).Max(p => Math.Abs(p.First - p.Second)) <= 1e-4f);
            next = [Array.IndexOf(a, a.Max())];
        }
    }

    /// <summary>The random micro decoder with an int8 embedding and 4-bit palettized projections (random indices and fp16 LUTs).</summary>
    private string CompressedModel()
    {
        var model = TestArtifact.RandomDecoder(vocabSize: 300);
        var random = new Random(9);
        var weights = new SortedDictionary<string, ExportWeight>(StringComparer.Ordinal);
        foreach (var (name, weight) in model.Weights)
        {
            weights[name] = weight switch
            {
                _ when weight.Shape.Length == 1 => weight,
                _ when name == "embed.weight" => new Int8ChannelWeight(weight.Shape,
                    Enumerable.Range(0, (int)weight.ElementCount).Select(_ => (sbyte)random.Next(-127, 128)).ToArray(),
                    Enumerable.Range(0, (int)weight.Rows).Select(_ => (Half)(0.004 + random.NextDouble() * 0.004)).ToArray()),
                _ => Palettized(weight, random),
            };
        }
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "model.onnx");
        File.WriteAllBytes(path, DecoderExporter.Export(model with { Weights = weights }, "test"));
        return path;
    }

    private static PalettizedWeight Palettized(ExportWeight weight, Random random)
    {
        const int bits = 4, groupSize = 16;
        long groups = (weight.Rows + groupSize - 1) / groupSize;
        var packed = new byte[(weight.ElementCount * bits + 7) / 8];
        random.NextBytes(packed);
        var lut = Enumerable.Range(0, (int)(groups << bits)).Select(_ => (Half)((random.NextDouble() * 2 - 1) * 0.3)).ToArray();
        return new PalettizedWeight(weight.Shape, bits, groupSize, packed, System.Runtime.InteropServices.MemoryMarshal.AsBytes(lut.AsSpan()).ToArray(), null);
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
