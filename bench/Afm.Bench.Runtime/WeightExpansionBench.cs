using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Afm.Runtime.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Bench.Runtime;

/// <summary>
/// Float vs palettized model.onnx, compressed weights expanded at load vs on the fly: graph size, session load time,
/// resident memory after load, peak RSS and decode tokens/s. Peak RSS is a per-process high-water mark, so each
/// configuration runs in a fresh child process of this bench (ONNX Runtime only, no libtorch) and reports back.
/// </summary>
internal static class WeightExpansionBench
{
    public const string ChildFlag = "--measure-weights";

    public sealed record Measurement(string Graph, string Expansion, long OnnxBytes, double LoadMs, double BaselineMiB, double AfterLoadMiB,
        double PeakMiB, double DecodeTokensPerSecond);

    public static List<Measurement> Run(PalettizedSample.Graphs graphs, int tokens, int threads)
    {
        // Two interleaved rounds, the faster decode of each configuration kept: the machine is shared, and a burst of
        // other work during one child would otherwise decide the comparison.
        var configurations = (from graph in new[] { ("float", graphs.FloatOnnx), ("palettized", graphs.PalettizedOnnx) }
                              from expansion in Enum.GetValues<WeightExpansion>()
                              select (graph.Item1, graph.Item2, expansion)).ToList();
        var rounds = Enumerable.Range(0, 2).SelectMany(_ => configurations.Select(c => Child(c.Item1, c.Item2, c.expansion, tokens, threads))).ToList();
        return configurations.Select(c => rounds.Where(m => m.Graph == c.Item1 && m.Expansion == c.expansion.ToString())
            .MaxBy(m => m.DecodeTokensPerSecond)!).ToList();
    }

    private static Measurement Child(string label, string path, WeightExpansion expansion, int tokens, int threads)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { typeof(WeightExpansionBench).Assembly.Location, ChildFlag, label, path, expansion.ToString(),
            tokens.ToString(CultureInfo.InvariantCulture), threads.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith('{'))
            ?? throw new InvalidOperationException($"measurement of {label}/{expansion} failed:\n{output}\n{stderr.Result}");
        return JsonSerializer.Deserialize<Measurement>(line)!;
    }

    /// <summary>In the child: load the graph, decode greedily from a fixed prompt, print one JSON line.</summary>
    public static int Measure(string[] args)
    {
        string label = args[1], path = args[2];
        var expansion = Enum.Parse<WeightExpansion>(args[3]);
        int tokens = int.Parse(args[4], CultureInfo.InvariantCulture), threads = int.Parse(args[5], CultureInfo.InvariantCulture);
        // The ORT library itself is resident before any session: measure from there, so the numbers are the model's.
        using (new SessionOptions()) { }
        double baseline = MiB(CurrentRss());

        var clock = Stopwatch.StartNew();
        using var session = new DecoderSession(path, new RuntimeOptions { IntraOpThreads = threads, WeightExpansion = expansion });
        double loadMs = clock.Elapsed.TotalMilliseconds;
        double afterLoad = MiB(CurrentRss());

        long[] prompt = Enumerable.Range(0, 16).Select(i => (long)((i * 37 + 11) % session.VocabSize)).ToArray();
        Decode(session, prompt, 4);
        double best = 0;
        for (int run = 0; run < 3; run++) best = Math.Max(best, Decode(session, prompt, tokens));
        using var self = Process.GetCurrentProcess();
        Console.WriteLine(JsonSerializer.Serialize(new Measurement(label, expansion.ToString(), new FileInfo(path).Length, loadMs, baseline,
            afterLoad, MiB(self.PeakWorkingSet64), best)));
        return 0;
    }

    /// <summary>Greedy decode steps per second after the prefill (which is excluded).</summary>
    private static double Decode(DecoderSession session, long[] prompt, int tokens)
    {
        using var cache = session.NewCache();
        var logits = session.Forward(prompt, cache);
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < tokens; step++)
        {
            int next = 0;
            for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[next]) next = i;
            logits = session.Forward([next], cache);
        }
        return tokens / clock.Elapsed.TotalSeconds;
    }

    private static long CurrentRss()
    {
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }

    private static double MiB(long bytes) => bytes / (1024.0 * 1024);
}
