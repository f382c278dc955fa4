using System.CommandLine;
using Afm.Core.Spec;
using Afm.Cli.Compilation;
using Afm.Runtime;
using Afm.Serving;
using Afm.Runtime.Sessions;

namespace Afm.Cli.Commands.Serve;

/// <summary>
/// <c>afm serve &lt;artifact&gt; --urls http://127.0.0.1:5000</c>: verifies and loads the artifact, then serves the
/// OpenAI-compatible API until Ctrl+C / SIGTERM.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var artifact = new Argument<string>("artifact") { Description = "The .afmpkg to serve." };
        var urls = new Option<string>("--urls") { Description = "Semicolon-separated listen URLs.", DefaultValueFactory = _ => "http://127.0.0.1:5000" };
        // With no URL Kestrel would pick its own default address, which is not what anyone typing --urls "" meant.
        urls.Validators.Add(result =>
        {
            if (Split(result.GetValueOrDefault<string>() ?? "").Length == 0) result.AddError("--urls names no URL; e.g. --urls http://127.0.0.1:5000");
        });
        var maxConcurrent = new Option<int>("--max-concurrent") { Description = "Generations running at once (their decode steps share batched runs, up to --max-batch-size).", DefaultValueFactory = _ => new ServerOptions().MaxConcurrent }.AtLeast(1);
        var queueLimit = new Option<int>("--queue-limit") { Description = "Requests allowed to wait; more are answered 429.", DefaultValueFactory = _ => new ServerOptions().QueueLimit }.AtLeast(0);
        var maxBatchSize = new Option<int>("--max-batch-size") { Description = "Most requests whose decode steps share one ONNX Runtime run (1 = no batching).", DefaultValueFactory = _ => new ServerOptions().MaxBatchSize }.AtLeast(1);
        var maxRequestBytes = new Option<long>("--max-request-bytes") { Description = "Largest request body; a larger one is answered 413 before it is read.", DefaultValueFactory = _ => new ServerOptions().MaxRequestBytes }.AtLeast(1);
        var promptCacheMb = new Option<int>("--prompt-cache-mb") { Description = "MiB of key/value state kept from earlier prompts, so a prompt that starts like one of them prefills only the rest (0 = off).", DefaultValueFactory = _ => (int)(new ServerOptions().PromptCacheBytes >> 20) }.AtLeast(0);
        var apiKey = new Option<string?>("--api-key") { Description = $"Require 'Authorization: Bearer KEY' on every request but GET /healthz. Prefer the {ApiKeyVariable} environment variable: an option is visible in the process list." };
        var corsOrigins = new Option<string[]>("--cors-origin") { Description = "An origin browser pages may call the API from (repeat for several; * for any). Without it no CORS headers are sent.", AllowMultipleArgumentsPerToken = false };
        // An empty key would silently serve without one: refuse it rather than run open.
        apiKey.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && string.IsNullOrWhiteSpace(result.GetValueOrDefault<string?>())) result.AddError("--api-key is empty; give the key, or leave the option out to serve without one.");
        });
        corsOrigins.Validators.Add(result =>
        {
            foreach (var origin in result.GetValueOrDefault<string[]>() ?? [])
                if (origin != "*" && !(Uri.TryCreate(origin, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.AbsolutePath == "/" && origin.TrimEnd('/') == uri.GetLeftPart(UriPartial.Authority)))
                    result.AddError($"--cors-origin '{origin}' is not an origin: give scheme, host and port only (https://app.example, http://localhost:3000) or *.");
        });
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0 = default).", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var chatTemplate = new Option<string?>("--chat-template-file") { Description = "A Jinja chat template that renders chat requests instead of the artifact's own." };
        var command = new Command("serve", "Serve a packaged model over an OpenAI-compatible HTTP API.") { artifact, urls, maxConcurrent, queueLimit, maxBatchSize, maxRequestBytes, promptCacheMb, apiKey, corsOrigins, threads, chatTemplate };
        var trust = new TrustOptions();
        trust.AddTo(command);
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            var template = result.GetValue(chatTemplate) is { } templateFile ? ReadTemplate(templateFile) : null;
            using var model = AfmModel.Load(result.GetValue(artifact)!, new RuntimeOptions { IntraOpThreads = result.GetValue(threads) }, trust.Policy(result));
            var options = new ServerOptions
            {
                Urls = Split(result.GetValue(urls)!),
                MaxConcurrent = result.GetValue(maxConcurrent),
                QueueLimit = result.GetValue(queueLimit),
                MaxBatchSize = result.GetValue(maxBatchSize),
                MaxRequestBytes = result.GetValue(maxRequestBytes),
                ChatTemplate = template,
                PromptCacheBytes = (long)result.GetValue(promptCacheMb) << 20,
                ApiKey = result.GetValue(apiKey) ?? NonEmpty(Environment.GetEnvironmentVariable(ApiKeyVariable)),
                CorsOrigins = result.GetValue(corsOrigins) ?? [],
            };
            return Serve(model, options).GetAwaiter().GetResult();
        }));
        return command;
    }

    /// <summary>
    /// The template file's text; one that cannot be read, or holds more than <see cref="ChatTemplateSpec.MaxBytes"/> (the
    /// bound of a project's AfmChatTemplate; a device such as /dev/zero never ends), is AFM7013 at the file, before the
    /// artifact is loaded.
    /// </summary>
    internal static string ReadTemplate(string path)
    {
        try
        {
            return Afm.Core.IO.BoundedFile.TryReadAllText(path, ChatTemplateSpec.MaxBytes) ?? throw RuntimeCodes.Error(RuntimeCodes.ChatTemplateUnusable, path,
                $"the chat template file holds more than {ChatTemplateSpec.MaxBytes >> 20} MiB; a chat template is a few KB of Jinja. Give the template file itself.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw RuntimeCodes.Error(RuntimeCodes.ChatTemplateUnusable, path, $"cannot read the chat template file: {e.Message}");
        }
    }

    /// <summary>Where the API key can come from instead of the command line.</summary>
    public const string ApiKeyVariable = "AFM_API_KEY";

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string[] Split(string urls) => urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static async Task<int> Serve(AfmModel model, ServerOptions options)
    {
        await using var server = await AfmServer.StartAsync(model, options);
        Console.WriteLine($"afm serve: {model.Id} {model.Manifest.Version} listening on {string.Join(", ", server.Addresses)} (Ctrl+C to stop)");
        await server.WaitForShutdownAsync();
        return 0;
    }
}
