using Afm.Core.Spec;
using Afm.Onnx.Export;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Onnx.Tests;

/// <summary>Runs an exported decoder graph in ONNX Runtime: ids plus a float cache in, logits plus the new cache out.</summary>
internal sealed class OrtDecoder(InferenceSession session, ArchitectureSpec architecture) : IDisposable
{
    public OrtDecoder(byte[] model, ArchitectureSpec architecture, SessionOptions? options = null)
        : this(options is null ? new InferenceSession(model) : new InferenceSession(model, options), architecture) { }

    /// <summary>From a model file, so ONNX Runtime resolves external data beside it.</summary>
    public OrtDecoder(string modelPath, ArchitectureSpec architecture) : this(new InferenceSession(modelPath), architecture) { }

    private readonly int layers = architecture.Layers, headDim = architecture.HeadDim;

    public sealed record Cache(float[][] Keys, float[][] Values, int Length);

    public Cache Empty(int batch) =>
        new(Enumerable.Range(0, layers).Select(_ => Array.Empty<float>()).ToArray(),
            Enumerable.Range(0, layers).Select(_ => Array.Empty<float>()).ToArray(), 0);

    /// <summary>ids [batch, time] -> logits (with <paramref name="adapter"/> active, if any) [batch, time, vocab] flattened, and the extended cache.</summary>
    /// <param name="mask">The key-padding mask [batch, past+time] (1 real, 0 padding); null feeds nothing (the graph's default).</param>
    public (float[] Logits, Cache Cache) Run(long[] ids, int batch, Cache past, OrtLoraAdapter? adapter = null, long[]? mask = null)
    {
        int time = ids.Length / batch;
        var disposables = new List<IDisposable>();
        try
        {
            var inputs = new Dictionary<string, OrtValue>
            {
                [DecoderNames.InputIds] = Track(OrtValue.CreateTensorValueFromMemory(ids, [batch, time])),
            };
            if (mask is not null)
                inputs[DecoderNames.AttentionMask] = Track(OrtValue.CreateTensorValueFromMemory(mask, [batch, past.Length + time]));
            for (int l = 0; l < layers; l++)
            {
                long[] cacheShape = [batch, architecture.Layer(l).KvHeads, past.Length, headDim];
                inputs[DecoderNames.PastKey(l)] = Track(OrtValue.CreateTensorValueFromMemory(past.Keys[l], cacheShape));
                inputs[DecoderNames.PastValue(l)] = Track(OrtValue.CreateTensorValueFromMemory(past.Values[l], cacheShape));
            }
            var names = new List<string> { DecoderNames.Logits };
            for (int l = 0; l < layers; l++) { names.Add(DecoderNames.PresentKey(l)); names.Add(DecoderNames.PresentValue(l)); }
            using var runOptions = new RunOptions();
            if (adapter is not null) runOptions.AddActiveLoraAdapter(adapter);
            using var outputs = session.Run(runOptions, inputs.Keys.ToArray(), inputs.Values.ToArray(), names);
            var logits = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            var keys = new float[layers][];
            var values = new float[layers][];
            for (int l = 0; l < layers; l++)
            {
                keys[l] = outputs[1 + 2 * l].GetTensorDataAsSpan<float>().ToArray();
                values[l] = outputs[2 + 2 * l].GetTensorDataAsSpan<float>().ToArray();
            }
            return (logits, new Cache(keys, values, past.Length + time));
        }
        finally
        {
            foreach (var d in disposables) d.Dispose();
        }

        OrtValue Track(OrtValue value) { disposables.Add(value); return value; }
    }

    public void Dispose() => session.Dispose();
}
