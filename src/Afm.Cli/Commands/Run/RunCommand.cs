using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Runtime;
using Afm.Runtime.Generation;
using Afm.Runtime.Sessions;

namespace Afm.Cli.Commands.Run;

/// <summary>
/// <c>afm run &lt;artifact.afmpkg&gt; --prompt "..."</c>: verifies the artifact, loads model.onnx in ONNX Runtime,
/// streams the completion to stdout and ends with one line of counts and decode tokens/s.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var artifact = new Argument<string>("artifact") { Description = "The .afmpkg to run." };
        var prompt = StageOptions.Required("--prompt", "Text the model continues.");
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens to generate.", DefaultValueFactory = _ => 128 };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy; higher = more random.", DefaultValueFactory = _ => 0.8 }.Invariant();
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0 = all).", DefaultValueFactory = _ => 40 };
        var topP = new Option<double>("--top-p") { Description = "Sample among the most likely tokens whose probability reaches p.", DefaultValueFactory = _ => 0.95 }.Invariant();
        var seed = new Option<long?>("--seed") { Description = "Seed of the sampler: the same seed gives the same text; without one each run samples afresh." };
        var stop = new Option<string[]>("--stop") { Description = "Stop before this text (repeatable).", AllowMultipleArgumentsPerToken = false };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0 = default).", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var adapter = new Option<string?>("--adapter") { Description = "An adapter of the artifact to activate (its name under adapters/; `afm serve` lists them at /v1/models)." };
        var command = new Command("run", "Generate text from a packaged model with ONNX Runtime.")
        {
            artifact, prompt, maxTokens, temperature, topK, topP, seed, stop, threads, adapter,
        };
        var trust = new TrustOptions();
        trust.AddTo(command);
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            var path = result.GetValue(artifact)!;
            var options = new GenerationOptions
            {
                MaxTokens = result.GetValue(maxTokens),
                Adapter = result.GetValue(adapter),
                StopSequences = result.GetValue(stop) ?? [],
                Sampling = new SamplingOptions
                {
                    Temperature = result.GetValue(temperature),
                    TopK = result.GetValue(topK),
                    TopP = result.GetValue(topP),
                    Seed = result.GetValue(seed),
                },
            };
            // Settings first: a mistyped --temperature is reported without waiting for the artifact to be verified and loaded.
            TextGenerator.ValidateOptions(options, path);
            using var model = AfmModel.Load(path, new RuntimeOptions { IntraOpThreads = result.GetValue(threads) }, trust.Policy(result));
            return Generate(model, result.GetValue(prompt)!, options);
        }));
        return command;
    }

    private static int Generate(AfmModel model, string prompt, GenerationOptions options)
    {
        var stdout = Console.Out;
        GenerationStats? stats = null;
        FinishReason? finish = null;
        var stream = model.Generator.GenerateAsync(prompt, options).GetAsyncEnumerator();
        try
        {
            while (stream.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                stdout.Write(stream.Current.Text);
                stdout.Flush();
                stats ??= stream.Current.Stats;
                finish ??= stream.Current.Finish;
            }
        }
        finally
        {
            stream.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        stdout.WriteLine();
        if (stats is not null)
            stdout.WriteLine($"[{model.Id}{(options.Adapter is { } a ? ":" + a : "")}: {stats.PromptTokens} prompt tokens, {stats.CompletionTokens} generated, " +
                $"prefill {stats.Prefill.TotalMilliseconds:0.0} ms, decode {stats.DecodeTokensPerSecond:0.0} tokens/s, " +
                $"finish: {finish.ToString()!.ToLowerInvariant()}]");
        return 0;
    }
}
