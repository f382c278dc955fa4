using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

/// <summary>
/// The on-device flow on the generated checkpoint (issue #15): a project with the checkpoint as its BaseModel and no
/// TrainingStage, a palettization plan and a rank-16 recovery adapter, built by `dotnet build -c Release` through the
/// package. Each stage is one `afm` process; the bench watches the build's process tree and records, per stage, the
/// wall time it ran and its peak RSS (VmHWM, sampled every 100 ms: a peak in the last 100 ms of a stage can be missed).
/// </summary>
internal static class Pipeline
{
    /// <summary>
    /// The plan and adapter the numbers are for (README): one width (LowBits = Bits: no sensitivity of a second width to
    /// measure, nothing to allocate), two calibration sequences and no grid tuning (at this size tuning holds every
    /// quantized matrix's gradient and a per-weight int64 lookup: not done yet), so the run fits a shared 2-core machine.
    /// </summary>
    public const string Items = """
            <QuantizationPlan Include="device" Bits="4" LowBits="4" GroupSize="16" CalibrationSequences="2" TuningSteps="0" />
            <Adapter Include="recovery" Kind="accuracy-recovery" Ranks="16" Tokens="4k" BatchSize="4" />
        """;

    /// <param name="limit">Wall time after which the build (a process tree the bench started) is stopped and the stages seen so far are printed.</param>
    public static int Run(string work, string checkpoint, string repository, TimeSpan limit)
    {
        WriteByteLevelTokenizer(checkpoint);
        var project = Path.Combine(work, "on-device-" + Path.GetFileName(checkpoint));
        if (Directory.Exists(project)) Directory.Delete(project, recursive: true);
        Directory.CreateDirectory(Path.Combine(project, "data"));
        File.Copy(Path.Combine(repository, "global.json"), Path.Combine(project, "global.json"));
        File.WriteAllText(Path.Combine(project, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><fallbackPackageFolders><add key="afm-sdk-source" value="{Path.Combine(repository, "sdk", "local-feed")}" /></fallbackPackageFolders></configuration>
            """);
        File.WriteAllText(Path.Combine(project, "data", "text.txt"), Corpus(documents: 400));
        File.WriteAllText(Path.Combine(project, "on-device.afmproj"), $"""
            <Project Sdk="Afm.Sdk">
              <PropertyGroup>
                <ModelName>qwen3-shapes</ModelName>
                <MaxSequenceLength>128</MaxSequenceLength>
              </PropertyGroup>
              <ItemGroup>
                <BaseModel Include="{checkpoint}" />
                <Corpus Include="data/*.txt" Name="text" />
            {Items}
              </ItemGroup>
            </Project>
            """);

        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = project, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "build", "-c", "Release", "-v:n", "-nologo" }) start.ArgumentList.Add(a);
        // The quantize stage then prints each phase's time and resident memory before and after it releases free memory.
        start.Environment["AFM_PROFILE_MEMORY"] = "1";
        var clock = Stopwatch.StartNew();
        using var build = Process.Start(start)!;
        var output = new StringBuilder();
        // Every line of the log carries when it came and the resident memory of the running stage then (VmRSS, GB), so each
        // quantize phase's time and memory can be read off its progress lines.
        build.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            long rss = AfmProcesses(repository).Sum(p => Rss(p.Pid, "VmRSS:"));
            var line = FormattableString.Invariant($"[{clock.Elapsed.TotalSeconds,7:0.0} s {rss / 1e9,6:0.000} GB] {e.Data}");
            // Also appended to build.log as it comes, so a run stopped from outside (or still running) can be read.
            lock (output)
            {
                output.AppendLine(line);
                File.AppendAllText(Path.Combine(project, "build.log"), line + "\n");
            }
        };
        build.BeginOutputReadLine();
        // Per stage process: wall seconds seen, peak RSS and the CPU seconds it used (on a shared machine the wall time says
        // more about the other processes than about the stage; the CPU seconds do not).
        var stages = new Dictionary<int, (string Command, double First, double Last, long PeakRss, double Cpu)>();
        bool stopped = false;
        while (!build.WaitForExit(100))
        {
            if (clock.Elapsed > limit && !stopped)
            {
                build.Kill(entireProcessTree: true);
                stopped = true;
            }
            foreach (var (pid, command) in AfmProcesses(repository))
            {
                long rss = PeakRss(pid);
                double now = clock.Elapsed.TotalSeconds, cpu = CpuSeconds(pid);
                stages[pid] = stages.TryGetValue(pid, out var s) ? (s.Command, s.First, now, Math.Max(s.PeakRss, rss), Math.Max(s.Cpu, cpu)) : (command, now, now, rss, cpu);
            }
        }
        build.WaitForExit();
        var log = Path.Combine(project, "build.log");
        if (stopped)
            Console.WriteLine($"stopped after {limit.TotalMinutes:0} minutes; the last stage below did not finish");
        else if (build.ExitCode != 0)
        {
            Console.WriteLine($"the build failed ({log}):");
            Console.WriteLine(string.Join('\n', output.ToString().Split('\n').Where(l => l.Contains("error", StringComparison.Ordinal)).Take(20)));
            return 1;
        }
        Console.WriteLine($"on-device build: {clock.Elapsed.TotalSeconds:0} s in all{(stopped ? " (stopped)" : "")} (log {log}); plan and adapter:{Items.TrimEnd()}");
        Console.WriteLine($"{"stage",-12} {"seconds",8} {"CPU s",8} {"peak RSS GB",12}");
        foreach (var s in stages.Values.OrderBy(s => s.First))
            Console.WriteLine($"{s.Command,-12} {s.Last - s.First,8:0.0} {s.Cpu,8:0.0} {s.PeakRss / 1e9,12:0.000}");
        foreach (var line in output.ToString().Split('\n').Where(l => l.Contains("quantize: ", StringComparison.Ordinal) && l.Contains("bits/weight", StringComparison.Ordinal)
                     || l.Contains("adapters recovery-r16: done", StringComparison.Ordinal)))
            Console.WriteLine(line.Trim());
        return 0;
    }

    /// <summary>
    /// The running `afm` compiler processes of this repository (dotnet exec &lt;repository&gt;/.../afm.dll &lt;command&gt;) and their
    /// command: other checkouts' builds on a shared machine are not this run's stages.
    /// </summary>
    private static IEnumerable<(int Pid, string Command)> AfmProcesses(string repository)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string[] args;
            try { args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0'); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            int at = Array.FindIndex(args, a => a.EndsWith("afm.dll", StringComparison.Ordinal)
                && a.StartsWith(repository + Path.DirectorySeparatorChar, StringComparison.Ordinal));
            if (at >= 0 && at + 1 < args.Length) yield return (pid, args[at + 1]);
        }
    }

    private static long PeakRss(int pid) => Rss(pid, "VmHWM:");

    /// <summary>User + system CPU seconds of a process so far (/proc/&lt;pid&gt;/stat fields 14 and 15, in clock ticks of 1/100 s); 0 once it is gone.</summary>
    private static double CpuSeconds(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command (field 2) is in parentheses and may hold spaces: the fields are counted after its closing one.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException) { return 0; }
    }

    /// <summary>A /proc/&lt;pid&gt;/status size in bytes (VmHWM: the peak resident memory; VmRSS: the current one); 0 once the process is gone.</summary>
    private static long Rss(int pid, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { return 0; }
    }

    /// <summary>Plain sentences from a seeded generator: a corpus, not a language (the weights are random anyway).</summary>
    private static string Corpus(int documents)
    {
        string[] subjects = ["Ada", "Bo", "the kite", "a small robot", "my neighbour", "the river"];
        string[] verbs = ["reads", "builds", "paints", "follows", "finds", "carries"];
        string[] objects = ["a red book", "the old bridge", "twelve apples", "a quiet song", "the map", "a paper boat"];
        var random = new Random(5);
        var text = new StringBuilder();
        for (int d = 0; d < documents; d++)
        {
            for (int s = 0; s < 4; s++)
                text.Append(subjects[random.Next(subjects.Length)]).Append(' ').Append(verbs[random.Next(verbs.Length)]).Append(' ')
                    .Append(objects[random.Next(objects.Length)]).Append(". ");
            text.Append("\n\n");
        }
        return text.ToString();
    }

    /// <summary>
    /// A byte-level BPE tokenizer.json without merges (one token per byte, spelled by GPT-2's byte-to-character map) and
    /// &lt;|endoftext|&gt; at 256: smaller than the checkpoint's embeddings, which the toolchain allows.
    /// </summary>
    private static void WriteByteLevelTokenizer(string folder)
    {
        // The bench writes with the toolchain's own byte-to-character map (the end-to-end test spells it out from the rules).
        var vocab = Enumerable.Range(0, 256).ToDictionary(b => Afm.Tokenizers.ByteLevelAlphabet.Map((byte)b).ToString(), b => b);
        vocab["<|endoftext|>"] = 256;
        var byteLevel = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true };
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["version"] = "1.0", ["truncation"] = null, ["padding"] = null,
            ["added_tokens"] = new[] { new { id = 256, content = "<|endoftext|>", single_word = false, lstrip = false, rstrip = false, normalized = false, special = true } },
            ["normalizer"] = null, ["pre_tokenizer"] = byteLevel, ["post_processor"] = null, ["decoder"] = byteLevel,
            ["model"] = new Dictionary<string, object?>
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = Array.Empty<string>(),
            },
        }));
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), JsonSerializer.Serialize(new { eos_token = "<|endoftext|>", add_bos_token = false }));
        File.WriteAllText(Path.Combine(folder, "generation_config.json"), JsonSerializer.Serialize(new { bos_token_id = 256, eos_token_id = new[] { 256 } }));
    }
}
