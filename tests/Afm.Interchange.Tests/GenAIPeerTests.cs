using Afm.Interchange.GenAI;
using Afm.Onnx.Adapters;
using Afm.Onnx.Export;
using Afm.Tokenizers;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntimeGenAI;
using Xunit;

namespace Afm.Interchange.Tests;

/// <summary>The GenAI folder we write, loaded and run by ONNX Runtime GenAI itself (NuGet 0.18.0, in this process).</summary>
public sealed class GenAIPeerTests
{
    private static readonly int[] Prompt = [45, 72, 101, 290, 33, 260, 80];
    private const int Steps = 32;

    [Fact]
    public void Greedy_tokens_equal_our_runtime()
    {
        using var micro = MicroModel.Create();
        var folder = WriteFolder(micro, adapters: new Dictionary<string, byte[]>());
        var ours = micro.Greedy(Prompt, Steps);
        Assert.DoesNotContain(0, ours); // the end-of-text id would stop GenAI's search early
        Assert.Equal(ours, GenAIGreedy(folder, Prompt, Steps, adapter: null));
    }

    [Fact]
    public void Greedy_tokens_with_an_adapter_active_equal_our_runtime_with_it()
    {
        using var micro = MicroModel.Create();
        var adapter = OnnxAdapter(RandomAdapter(micro.Export, rank: 4, seed: 5));
        var folder = WriteFolder(micro, new Dictionary<string, byte[]> { ["style"] = adapter });
        using var ortAdapter = OrtLoraAdapter.Create(adapter, null);
        var ours = micro.Greedy(Prompt, Steps, adapter: ortAdapter);
        Assert.NotEqual(micro.Greedy(Prompt, Steps), ours); // the adapter changes what the model says
        Assert.DoesNotContain(0, ours);
        Assert.Equal(ours, GenAIGreedy(folder, Prompt, Steps, adapter: Path.Combine(folder, GenAIFolder.AdapterFileName("style"))));
    }

    private static string WriteFolder(MicroModel micro, Dictionary<string, byte[]> adapters)
    {
        var folder = Path.Combine(micro.Folder, "genai");
        GenAIFolder.Write(folder, micro.Architecture, new GenAITokenIds(0, 0, 0), File.ReadAllBytes(micro.OnnxPath),
            into => HuggingFaceTokenizerWriter.Write(micro.LoadTokenizer(), into), adapters);
        return folder;
    }

    private static int[] GenAIGreedy(string folder, int[] prompt, int steps, string? adapter)
    {
        using var config = new Config(folder);
        using var model = new Model(config);
        using var parameters = new GeneratorParams(model);
        parameters.SetSearchOption("max_length", prompt.Length + steps);
        using var generator = new Generator(model, parameters);
        using var adapters = adapter is null ? null : new Adapters(model);
        if (adapters is not null)
        {
            adapters.LoadAdapter(adapter!, "active");
            generator.SetActiveAdapter(adapters, "active");
        }
        generator.AppendTokens(prompt);
        while (!generator.IsDone()) generator.GenerateNextToken();
        return generator.GetSequence(0).ToArray().Skip(prompt.Length).ToArray();
    }

    /// <summary>An .onnx_adapter of <paramref name="adapter"/>'s tensors (the ONNX Runtime format our export writes).</summary>
    internal static byte[] OnnxAdapter(TrainedAdapter adapter) =>
        OnnxAdapterFormat.Write(1, 1, adapter.Tensors.Select(t => AdapterParameter.FromFloats(t.Key, t.Value.Values, t.Value.Shape)));

    /// <summary>Random A [rank, in] and B [out, rank] for every adaptable projection.</summary>
    internal static TrainedAdapter RandomAdapter(DecoderModel model, int rank, int seed)
    {
        var random = new Random(seed);
        var tensors = new SortedDictionary<string, (long[] Shape, float[] Values)>(StringComparer.Ordinal);
        foreach (var weight in DecoderNames.AdaptableWeights(model.Architecture.Layers))
        {
            var shape = model.Weights[weight].Shape;
            tensors[DecoderNames.LoraA(weight)] = ([rank, shape[1]], Values(random, rank * shape[1]));
            tensors[DecoderNames.LoraB(weight)] = ([shape[0], rank], Values(random, shape[0] * rank));
        }
        return new TrainedAdapter("style", "feature", rank, "1", "", tensors);
    }

    private static float[] Values(Random random, long count) =>
        Enumerable.Range(0, (int)count).Select(_ => (float)(random.NextDouble() * 2 - 1) * 0.5f).ToArray();
}
