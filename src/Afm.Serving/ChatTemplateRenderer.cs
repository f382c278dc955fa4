using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Afm.Serving;

/// <summary>
/// ONNX Runtime GenAI's chat-template renderer (minja) run in its own process (Afm.ChatTemplateRenderer), one render at
/// a time, under a deadline and a memory limit. minja has none of its own: measured here, <c>range(3000000)</c> took
/// 3.6 s and 776 MiB (the range is a list), and a macro that calls itself overflowed the native stack, which ends the
/// process it runs in. So a render that passes <see cref="TimeLimit"/> or <see cref="MemoryLimitBytes"/> kills the
/// renderer (it cannot be stopped any other way), a crashed one is noticed by its closed output, and either is
/// reported as a <see cref="ChatTemplateException"/>; the next render starts a fresh renderer. At most one renderer
/// process exists per template, so a hostile template costs at most one process's time and memory, never a pile.
/// </summary>
internal sealed class ChatTemplateRenderer : IDisposable
{
    /// <summary>Real templates render in milliseconds (Qwen3's with tools included); this is hundreds of times that.</summary>
    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(5);
    /// <summary>The renderer's whole resident size (the .NET runtime and GenAI take about 60 MiB of it).</summary>
    public const long MemoryLimitBytes = 512L << 20;

    /// <summary>Starting the renderer (a .NET process loading GenAI) takes about 0.2 s; more on a loaded machine.</summary>
    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);
    private readonly string bos, eos;
    private readonly Lock gate = new();
    private Process? process;

    public ChatTemplateRenderer(string? beginOfSequence, string? endOfSequence)
    {
        bos = beginOfSequence ?? "";
        eos = endOfSequence ?? "";
    }

    /// <summary>The template's output for <paramref name="messages"/> (a JSON text), or its error as <see cref="ChatTemplateException"/>.</summary>
    public string Render(string template, string messages, bool addGenerationPrompt)
    {
        lock (gate)
        {
            var answer = Ask(process ??= Start(), new JsonObject { ["template"] = template, ["messages"] = messages, ["add_generation_prompt"] = addGenerationPrompt }, TimeLimit);
            return (string?)answer["text"] ?? throw new ChatTemplateException((string?)answer["error"] ?? "the renderer gave no text.");
        }
    }

    private JsonObject Ask(Process worker, JsonObject request, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        string? line;
        try
        {
            worker.StandardInput.WriteLine(request.ToJsonString());
            worker.StandardInput.Flush();
            var read = worker.StandardOutput.ReadLineAsync();
            while (!read.Wait(Poll))
            {
                worker.Refresh();
                if (clock.Elapsed > limit) throw Stop($"rendering took longer than {limit.TotalSeconds:0} s (a loop or recursion without end?)");
                if (!worker.HasExited && worker.WorkingSet64 > MemoryLimitBytes) throw Stop($"rendering took more than {MemoryLimitBytes >> 20} MiB");
            }
            line = read.Result;
        }
        catch (Exception e) when (e is IOException or AggregateException or InvalidOperationException)
        {
            line = null;
        }
        if (line is null) throw Stop("the renderer stopped while rendering (a recursion that overflowed its stack?)");
        return JsonNode.Parse(line)!.AsObject();
    }

    /// <summary>Kills the renderer (the next render starts another) and says why.</summary>
    private ChatTemplateException Stop(string reason)
    {
        Kill();
        return new ChatTemplateException($"the chat template was stopped: {reason}");
    }

    private Process Start()
    {
        var worker = Process.Start(new ProcessStartInfo(DotnetHost(), [Path.Combine(AppContext.BaseDirectory, "Afm.ChatTemplateRenderer.dll")])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardInputEncoding = new System.Text.UTF8Encoding(false), StandardOutputEncoding = System.Text.Encoding.UTF8,
        }) ?? throw new ChatTemplateException("the chat template renderer could not start.");
        worker.ErrorDataReceived += (_, _) => { }; // drained: a crash's stack trace must not block it, and is not ours to print
        worker.BeginErrorReadLine();
        process = worker;
        var ready = Ask(worker, new JsonObject { ["bos"] = bos, ["eos"] = eos }, StartLimit);
        if (ready["ready"] is null) throw Stop((string?)ready["error"] ?? "the renderer did not start.");
        return worker;
    }

    /// <summary>The <c>dotnet</c> host of the runtime this process runs on (the renderer is a framework-dependent app).</summary>
    private static string DotnetHost()
    {
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var host = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(host) ? host : "dotnet";
    }

    private void Kill()
    {
        if (process is null) return;
        try { process.Kill(entireProcessTree: true); process.WaitForExit(); }
        catch (InvalidOperationException) { }
        process.Dispose();
        process = null;
    }

    public void Dispose()
    {
        lock (gate) Kill();
    }
}
