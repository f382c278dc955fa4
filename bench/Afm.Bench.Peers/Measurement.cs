using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Afm.Runtime.Sessions;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace Afm.Bench.Peers;

/// <summary>
/// What one runtime measured in its own process: decode speed at batch 1 after a prompt, its peak RSS, and when asked the
/// best of three prefills of a longer prompt from an empty cache (0 when not measured).
/// </summary>
internal sealed record Measurement(double TokensPerSecond, long PeakRssBytes, double LoadMs, double PrefillMs = 0);

/// <summary>
/// Each runtime runs in a fresh child process, so peak resident memory (the kernel's VmHWM) is that runtime's alone: our
/// runtime and GenAI in a child of this bench, llama.cpp in Node (tests/peers/llama-cpp/peer.mjs). All decode greedily
/// the same 16-token prompt, then time <see cref="Program.Tokens"/> steps (the prompt's prefill is not timed).
/// </summary>
internal static class Runtimes
{
    public const string ChildFlag = "--child";
    public static readonly int[] Prompt = Enumerable.Range(0, 16).Select(i => 300 + (i * 37) % 1000).ToArray();

    public static Measurement Ours(string onnx, int tokens, int threads, bool spinning = false, int prefill = 0) =>
        Child(spinning ? "ours-spinning" : "ours", onnx, tokens, threads, prefill);
    public static Measurement GenAI(string folder, int tokens, int threads) => Child("genai", folder, tokens, threads);

    public static Measurement LlamaCpp(string gguf, int tokens, int threads, string peerFolder)
    {
        var request = JsonSerializer.Serialize(new { op = "bench", model = gguf, prompt = Prompt, steps = tokens + 1, threads });
        var answer = Run("node", ["peer.mjs"], peerFolder, request);
        using var json = JsonDocument.Parse(answer);
        var root = json.RootElement;
        return new Measurement(root.GetProperty("tokensPerSecond").GetDouble(), root.GetProperty("peakRssBytes").GetInt64(), root.GetProperty("loadMs").GetDouble());
    }

    private static Measurement Child(string runtime, string path, int tokens, int threads, int prefill = 0)
    {
        var answer = Run("dotnet", [typeof(Runtimes).Assembly.Location, ChildFlag, runtime, path, Text(tokens), Text(threads), Text(prefill)], Environment.CurrentDirectory, null);
        return JsonSerializer.Deserialize<Measurement>(answer)!;
    }

    /// <summary>In the child: load, warm up, decode, print one JSON line.</summary>
    public static int Measure(string[] args)
    {
        string runtime = args[1], path = args[2];
        int tokens = int.Parse(args[3], CultureInfo.InvariantCulture), threads = int.Parse(args[4], CultureInfo.InvariantCulture);
        int prefill = int.Parse(args[5], CultureInfo.InvariantCulture);
        var clock = Stopwatch.StartNew();
        double tokensPerSecond, loadMs, prefillMs = 0;
        long peak = 0;
        if (runtime is "ours" or "ours-spinning")
        {
            using var session = new DecoderSession(path, new RuntimeOptions { IntraOpThreads = threads, AllowSpinning = runtime == "ours-spinning" });
            loadMs = clock.Elapsed.TotalMilliseconds;
            OursDecode(session, 4);
            tokensPerSecond = OursDecode(session, tokens);
            // Peak RSS is the decode's (loaded and decoding, as the other runtimes'): read before the longer prefill's activations.
            peak = PeakRss();
            if (prefill > 0) prefillMs = OursPrefill(session, prefill);
        }
        else
        {
            using var config = new Config(path);
            config.Overlay($$"""{ "model": { "decoder": { "session_options": { "intra_op_num_threads": {{threads}} } } } }""");
            using var model = new Model(config);
            loadMs = clock.Elapsed.TotalMilliseconds;
            GenAIDecode(model, 4);
            tokensPerSecond = GenAIDecode(model, tokens);
            peak = PeakRss();
        }
        Console.WriteLine(JsonSerializer.Serialize(new Measurement(tokensPerSecond, peak, loadMs, prefillMs)));
        return 0;
    }

    internal static double OursDecode(DecoderSession session, int tokens)
    {
        using var cache = session.NewCache();
        var logits = session.Forward(Prompt.Select(i => (long)i).ToArray(), cache);
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < tokens; step++)
        {
            int next = 0;
            for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[next]) next = i;
            logits = session.Forward([next], cache);
        }
        return tokens / clock.Elapsed.TotalSeconds;
    }

    /// <summary>The best of three prefills of a <paramref name="tokens"/>-token prompt, each into a fresh cache, in milliseconds.</summary>
    private static double OursPrefill(DecoderSession session, int tokens)
    {
        var prompt = Enumerable.Range(0, tokens).Select(i => (long)(300 + (i * 37) % 1000)).ToArray();
        double best = double.MaxValue;
        for (int run = 0; run < 3; run++)
        {
            using var cache = session.NewCache();
            var clock = Stopwatch.StartNew();
            session.Forward(prompt, cache);
            best = Math.Min(best, clock.Elapsed.TotalMilliseconds);
        }
        return best;
    }

    private static double GenAIDecode(Model model, int tokens)
    {
        using var parameters = new GeneratorParams(model);
        // min_length keeps the end-of-text id (random weights may pick it) from ending the timed steps early.
        parameters.SetSearchOption("max_length", Prompt.Length + tokens + 1);
        parameters.SetSearchOption("min_length", Prompt.Length + tokens + 1);
        using var generator = new Generator(model, parameters);
        generator.AppendTokens(Prompt);
        generator.GenerateNextToken();
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < tokens; step++) generator.GenerateNextToken();
        return tokens / clock.Elapsed.TotalSeconds;
    }

    private static long PeakRss()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Run(string file, IEnumerable<string> arguments, string directory, string? stdin)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (stdin is not null) process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        process.WaitForExit();
        var line = stdout.Result.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        if (process.ExitCode != 0 || line is null)
            throw new InvalidOperationException($"{file} {string.Join(' ', start.ArgumentList)} failed ({process.ExitCode}):\n{stdout.Result}\n{stderr.Result}");
        return line;
    }
}
