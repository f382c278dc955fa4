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
        var prompt = new Option<string?>("--prompt") { Description = "Text the model continues." };
        var chat = new Option<bool>("--chat") { Description = "Chat: each line of standard input is a user turn, answered with the conversation so far (rendered by the model's chat template, else a plain transcript); ends at end of input." };
        var system = new Option<string?>("--system") { Description = "With --chat: a system message that starts the conversation." };
        var chatTemplate = new Option<string?>("--chat-template-file") { Description = "With --chat: a Jinja chat template to use instead of the artifact's." };
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
            artifact, prompt, chat, system, chatTemplate, maxTokens, temperature, topK, topP, seed, stop, threads, adapter,
        };
        command.Validators.Add(r =>
        {
            bool chatting = r.GetValue(chat);
            if (chatting == (r.GetValue(prompt) is not null)) r.AddError("Give either --prompt or --chat.");
            else if (!chatting && (r.GetValue(system) is not null || r.GetValue(chatTemplate) is not null)) r.AddError("--system and --chat-template-file need --chat.");
        });
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
            var templateText = result.GetValue(chatTemplate) is { } file ? Serve.ServeCommand.ReadTemplate(file) : null;
            using var model = AfmModel.Load(path, new RuntimeOptions { IntraOpThreads = result.GetValue(threads) }, trust.Policy(result));
            if (!result.GetValue(chat)) return Generate(model, model.Generator.Tokenize(result.GetValue(prompt)!), options);
            using var template = Afm.Serving.ChatTemplate.ForModel(model, templateText, "afm run");
            var conversation = new Afm.Serving.ChatConversation(model, template, result.GetValue(system));
            // One line a turn; a turn the template cannot render ends the chat with its error, as a server's 400 would.
            // Read with a bound: a turn of a line without end (e.g. /dev/zero piped in) is AFM7015, not an out-of-memory.
            var turns = Afm.Core.IO.JsonLinesFile.BoundedLines(Console.In, RuntimeCodes.ChatTurnMaxCharacters, number =>
                RuntimeCodes.Error(RuntimeCodes.ChatTurnTooLong, "afm run",
                    $"line {number} of standard input (one user turn) is longer than {RuntimeCodes.ChatTurnMaxCharacters:N0} characters, the limit of a chat turn"));
            foreach (var (_, line) in turns)
            {
                if (line.Length == 0) continue;
                IReadOnlyList<int> ids;
                IReadOnlyList<string> stops;
                try { (ids, stops) = conversation.Ask(line); }
                catch (Afm.Serving.ChatTemplateException e)
                {
                    throw RuntimeCodes.Error(RuntimeCodes.ChatTurnRefused, "afm run", $"the chat template refused the conversation: {e.Message}");
                }
                var reply = new System.Text.StringBuilder();
                Generate(model, ids, options with { StopSequences = [.. options.StopSequences, .. stops] }, reply);
                conversation.Answer(reply.ToString());
            }
            return 0;
        }));
        return command;
    }

    /// <param name="reply">Collects the generated text (a chat's answer, kept for the next turn).</param>
    private static int Generate(AfmModel model, IReadOnlyList<int> promptIds, GenerationOptions options, System.Text.StringBuilder? reply = null)
    {
        var stdout = Console.Out;
        GenerationStats? stats = null;
        FinishReason? finish = null;
        var stream = model.Generator.GenerateAsync(promptIds, options).GetAsyncEnumerator();
        try
        {
            while (stream.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                stdout.Write(stream.Current.Text);
                reply?.Append(stream.Current.Text);
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
