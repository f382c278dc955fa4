using System.Diagnostics;
using Afm.Onnx.Export;
using Afm.Onnx.Graph;
using Microsoft.ML.OnnxRuntime;
using DataType = Afm.Onnx.Proto.TensorProto.Types.DataType;

namespace Afm.Bench.Peers;

/// <summary>
/// The tied head of the bench's dim768 model ([16384 x 768] int8 per channel, one token) as each form ONNX Runtime 1.31 could
/// run it, one node alone: 8-bit MatMulNBits at accuracy_level 0 and 4, the exporter's form (ResidentEmbedding.Head: two 4-bit
/// halves) and a float MatMul of the dequantized table. Each prints its best and median time and its largest error against
/// x W^T computed in double (x has a large value every 97th input, as real hidden states do).
/// </summary>
internal static class HeadFormBench
{
    public static void Run(int threads, Action<string> print)
    {
        const int n = 16384, k = 768;
        var random = new Random(3);
        var q = new sbyte[n * k];
        for (int i = 0; i < q.Length; i++) q[i] = (sbyte)random.Next(-127, 128);
        var scale = new Half[n];
        for (int i = 0; i < n; i++) scale[i] = (Half)(0.0005 + 0.001 * random.NextDouble());
        var weight = new Int8ChannelWeight([n, k], q, scale);
        var x = new float[k];
        for (int i = 0; i < k; i++) x[i] = (float)(random.NextDouble() * 2 - 1) * (i % 97 == 0 ? 8 : 1);
        var w = new float[n * k];
        for (int i = 0; i < w.Length; i++) w[i] = q[i] * (float)scale[i / k];
        var reference = new double[n];
        for (int o = 0; o < n; o++)
        {
            double sum = 0;
            for (int i = 0; i < k; i++) sum += (double)x[i] * w[o * k + i];
            reference[o] = sum;
        }

        var forms = new (string Name, Func<OnnxGraphBuilder, string, string> Build, int Rounds)[]
        {
            ("8-bit MatMulNBits, accuracy_level 0", (g, input) => EightBit(g, input, weight, 0), 3),
            ("8-bit MatMulNBits, accuracy_level 4 (int8 activations)", (g, input) => EightBit(g, input, weight, 4), 30),
            ("exporter's head: two 4-bit MatMulNBits over the nibbles", (g, input) => ResidentEmbedding.Head(g, input, "embed.weight", ResidentEmbedding.Emit(g, "embed.weight", weight), Afm.Core.Spec.RuntimeActivations.Float32), 30),
            ("float MatMul of the dequantized table (48 MiB resident)", (g, input) => g.Node("MatMul", [input, g.Initializer("w_t", Transposed(w, n, k), k, n)]), 30),
        };
        print($"| [{n} x {k}] head, x [1, {k}], {threads} threads | best | median | max abs error vs double (max abs y) |");
        print("| --- | --- | --- | --- |");
        foreach (var (name, build, rounds) in forms)
        {
            var graph = new OnnxGraphBuilder();
            var input = graph.Input("x", DataType.Float, 1L, (long)k);
            graph.Output(build(graph, input), "y", DataType.Float, 1L, (long)n);
            var model = new Afm.Onnx.Proto.ModelProto { IrVersion = DecoderExporter.IrVersion, Graph = graph.Build("head") };
            model.OpsetImport.Add(new Afm.Onnx.Proto.OperatorSetIdProto { Domain = "", Version = DecoderExporter.Opset });
            model.OpsetImport.Add(new Afm.Onnx.Proto.OperatorSetIdProto { Domain = DecoderNames.Contrib.Domain, Version = DecoderNames.Contrib.Opset });
            using var options = new SessionOptions { IntraOpNumThreads = threads };
            using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(model), options);
            using var value = OrtValue.CreateTensorValueFromMemory(x, [1, k]);
            using var runOptions = new RunOptions();
            float[] y = [];
            var times = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                var clock = Stopwatch.StartNew();
                using var outputs = session.Run(runOptions, ["x"], [value], ["y"]);
                times.Add(clock.Elapsed.TotalMilliseconds);
                y = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            }
            double error = 0, largest = 0;
            for (int o = 0; o < n; o++) { error = Math.Max(error, Math.Abs(y[o] - reference[o])); largest = Math.Max(largest, Math.Abs(reference[o])); }
            print($"| {name} | {times.Min():F2} ms | {times.Order().ElementAt(times.Count / 2):F2} ms | {error:E2} ({largest:F2}) |");
        }
    }

    private static float[] Transposed(float[] w, int n, int k)
    {
        var t = new float[w.Length];
        for (int o = 0; o < n; o++)
            for (int i = 0; i < k; i++) t[i * n + o] = w[o * k + i];
        return t;
    }

    /// <summary>The head as one 8-bit MatMulNBits node (the form the exporter no longer emits) over the same uint8 table.</summary>
    private static string EightBit(OnnxGraphBuilder g, string x, Int8ChannelWeight weight, int accuracyLevel)
    {
        var t = ResidentEmbedding.Emit(g, "embed.weight", weight);
        long blocks = t.Columns / t.Block;
        var scales = new float[t.Rows * blocks];
        for (long i = 0; i < scales.LongLength; i++) scales[i] = (float)t.Scale[i / blocks];
        var s = g.Initializer("scales", scales, t.Rows, blocks);
        return g.DomainNode(DecoderNames.Contrib.Domain, DecoderNames.Contrib.MatMulNBits, [x, t.Data, s], (string?)null,
            Attr.Int("K", t.Columns), Attr.Int("N", t.Rows), Attr.Int("bits", 8), Attr.Int("block_size", t.Block), Attr.Int("accuracy_level", accuracyLevel));
    }
}
