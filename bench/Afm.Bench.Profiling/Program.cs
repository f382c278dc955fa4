using System.Globalization;
using System.Xml.Linq;
using Afm.Core.Spec;
using Afm.Profiling.Formats;
using Afm.Profiling.Measurement;
using Afm.Profiling.Model;

// Usage: dotnet run -c Release --project bench/Afm.Bench.Profiling [--fused] [--nbits 4|2|8 [--int8]] [--dim768] [path/to.afmproj] [threads] [repetitions] [runs] [quantile] [model.onnx]
// Diagnostics: --nbits-sizes threads | --norm-rows [threads project] | --nbits-prompt threads [project] [--dim768] | --decode-nodes threads [project] [--nbits N [--int8]]
// Calibrates the host profile with ONNX Runtime (benchmark graphs sized like the model's kernels, not its ops),
// predicts every op of the sample model with the roofline, and measures it two ways in the same interleaved rounds as
// the calibration: each op's micro graph (built from the exporter's own blocks), and the whole exported model.onnx
// (prefill of the prompt, one decode step at the context with a real KV cache), its kernels attributed to ops by the
// scopes of their names. Prints predicted vs measured per op and per layer, Spearman's rank correlation and the error
// of the total for both, and repeats the whole comparison (default 3 times) in one process, so the spread between
// repetitions says how much of an error is noise. Without a model.onnx, the exporter writes one for the project's
// architecture with random weights (values do not change which kernels run or their time). --fused exports ONNX Runtime's
// fused contrib ops (AfmOnnxOps=fused), --nbits N every projection resident as N-bit MatMulNBits and the int8 embedding as
// GatherBlockQuantized (RuntimeForm="nbits"), with --int8 their activations int8 (RuntimeActivations="int8"); micro graphs are then skipped and the whole model is compared, each op costed in
// the format that graph runs it in. --dim768 replaces the project's shapes by the Peers bench's larger model (dim 768, 12
// layers, 12/4 heads, FFN 2048, vocabulary 16384, context 512).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var options = args.ToList();
bool fused = options.Remove("--fused"), dim768 = options.Remove("--dim768"), int8 = options.Remove("--int8");
int nbits = 0;
if (options.IndexOf("--nbits") is int at and >= 0)
{
    nbits = int.Parse(options[at + 1], CultureInfo.InvariantCulture);
    options.RemoveRange(at, 2);
}
args = [.. options];
if (options.Remove("--norm-rows"))
{
    // Norm kernels over [rows, hd] (4 chained after one untimed), interleaved with the model's whole decode step as in calibration.
    var a = ReadArchitecture(options.Count > 1 ? options[1] : FindSample());
    long[] rowsList = [1, 2, 4, 6, 8, 16];
    var graphs = rowsList.Select(r => HostCalibration.RowsNormChain(a.HeadDim, 1e-5f, r)).ToList();
    var m = ExportedDecoder.Export(a);
    var times = HostCalibration.Timer(2).TimeAll([.. graphs, WholeModel.Run(m, a, Phase.Decode, 128, a.MaxSequenceLength)]);
    for (int i = 0; i < graphs.Count; i++) Console.WriteLine($"hd {a.HeadDim} rows {rowsList[i]}: {times[i].Milliseconds * 1e3 / times[i].Kernels:0.0} us per kernel ({times[i].Kernels} kernels)");
    Console.WriteLine(File.ReadAllText("/proc/loadavg"));
    return;
}
if (options.Remove("--nbits-sizes"))
{
    // MatMulNBits [1, d] x [rows, d] at several sizes, interleaved: how its time grows with the weight (fixed cost vs rate).
    long[] rowsList = [32, 64, 128, 256, 512, 1024, 2048, 4096];
    foreach (var d in new long[] { 128, 768 })
    {
        var graphs = new[] { 4, 2 }.SelectMany(b => rowsList.Select(r => HostCalibration.NBitsProduct(d, r, b))).ToList();
        var times = HostCalibration.Timer(int.Parse(options[0], CultureInfo.InvariantCulture), 41).TimeAll(graphs);
        for (int i = 0; i < graphs.Count; i++) Console.WriteLine($"d {d} {graphs[i].Name} rows {rowsList[i % rowsList.Length]}: {times[i].Milliseconds * 1e3:0.0} us ({times[i].Kernels} kernels)");
    }
    Console.WriteLine(File.ReadAllText("/proc/loadavg"));
    return;
}
if (options.Remove("--nbits-prompt"))
{
    // MatMulNBits over a prompt of 128 tokens at every projection shape, per width and activations, beside the float Gemm and
    // one token's product: what a prompt's further tokens cost against the rates the cost model could charge them.
    var a = ReadArchitecture(options.Count > 1 ? options[1] : FindSample());
    if (dim768) a = a with { ModelDim = 768, Layers = 12, Heads = 12, KvHeads = 4, FfnDim = 2048, VocabSize = 16384, MaxSequenceLength = 512 };
    var variants = new (int Bits, RuntimeActivations Activations)[] { (4, RuntimeActivations.Float32), (2, RuntimeActivations.Float32), (4, RuntimeActivations.Int8), (2, RuntimeActivations.Int8), (8, RuntimeActivations.Int8) };
    var shapes = HostCalibration.ProductShapes(a);
    var graphs = new List<MicroGraph>();
    foreach (var (inputs, outputs) in shapes)
    {
        graphs.Add(HostCalibration.FloatProduct(128, inputs, outputs));
        foreach (var (bits, activations) in variants)
            graphs.AddRange([HostCalibration.NBitsProduct(inputs, outputs, bits, activations, tokens: 1), HostCalibration.NBitsProduct(inputs, outputs, bits, activations, tokens: 128)]);
    }
    var times = HostCalibration.Timer(int.Parse(options[0], CultureInfo.InvariantCulture), 21).TimeAll(graphs);
    int per = 1 + 2 * variants.Length;
    for (int i = 0; i < shapes.Count; i++)
    {
        var (inputs, outputs) = shapes[i];
        double flops = 2.0 * 128 * inputs * outputs;
        Console.WriteLine($"[{inputs} -> {outputs}] gemm x128 {times[i * per].Milliseconds * 1e3:0.0} us ({flops / times[i * per].Milliseconds / 1e6:0.0} GFLOP/s); " + string.Join("; ", variants.Select((v, k) =>
        {
            var (one, prompt) = (times[i * per + 1 + 2 * k], times[i * per + 2 + 2 * k]);
            return $"{v.Bits}-bit {(v.Activations == RuntimeActivations.Int8 ? "int8" : "float")} x1 {one.Milliseconds * 1e3:0.0} us, x128 {prompt.Milliseconds * 1e3:0.0} us ({prompt.Kernels} kernels, further tokens {2.0 * 127 * inputs * outputs / Math.Max(prompt.Milliseconds - one.Milliseconds, 1e-6) / 1e6:0.0} GFLOP/s)";
        })));
    }
    Console.WriteLine(File.ReadAllText("/proc/loadavg"));
    return;
}
if (options.Remove("--decode-nodes"))
{
    // Every kernel of one decode step of the sample (of the --nbits/--int8 form) in execution order, beside the calibration's
    // chain of norms over rows (its first one untimed), node by node: which kernels pay the threads' wake (the first split one of a run).
    var a = ReadArchitecture(options.Count > 1 ? options[1] : FindSample());
    var f = new GraphForm(OnnxOps.Standard, nbits, int8 ? RuntimeActivations.Int8 : RuntimeActivations.Float32);
    var nodes = HostCalibration.Timer(int.Parse(options[0], CultureInfo.InvariantCulture), 41).TimeNodes(
        [WholeModel.Run(ExportedDecoder.Export(a, f), a, Phase.Decode, 128, a.MaxSequenceLength), HostCalibration.RowsNormChain(a.HeadDim, (float)a.NormEpsilon, 8)]);
    foreach (var graph in nodes)
    {
        foreach (var n in graph) Console.WriteLine($"{n.Milliseconds * 1e3,8:0.0} us {n.OpType,-30} {n.Name}");
        Console.WriteLine("--");
    }
    Console.WriteLine(File.ReadAllText("/proc/loadavg"));
    return;
}
var form = new GraphForm(fused ? OnnxOps.Fused : OnnxOps.Standard, nbits, int8 ? RuntimeActivations.Int8 : RuntimeActivations.Float32);
var project = args.Length > 0 ? args[0] : FindSample();
int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
int repetitions = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
int runs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : HostCalibration.MeasuredRuns;
double quantile = args.Length > 4 ? double.Parse(args[4], CultureInfo.InvariantCulture) : HostCalibration.TimingQuantile;
var arch = ReadArchitecture(project);
if (dim768)
    arch = arch with { ModelDim = 768, Layers = 12, Heads = 12, KvHeads = 4, FfnDim = 2048, VocabSize = 16384, MaxSequenceLength = 512 };
var model = args.Length > 5 ? File.ReadAllBytes(args[5]) : ExportedDecoder.Export(arch, form);
var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
Console.WriteLine($"model: {(dim768 ? "dim768-12l" : Path.GetFileName(project))}: dim {arch.ModelDim}, {arch.Layers} layers, {arch.Heads}/{arch.KvHeads} heads, ffn {arch.FfnDim}, vocab {arch.VocabSize}; graph {form.Name}; {threads} threads; CPU {cpu} ({CpuId("cpu family")}, {CpuId("model")}), {Environment.ProcessorCount} logical cores");

var timer = new OrtOpTimer(threads, HostCalibration.WarmupRuns, runs) { Quantile = quantile };
int prompt = Math.Min(128, arch.MaxSequenceLength), context = arch.MaxSequenceLength;
var summaries = new List<string>();
var stageLines = new List<string>();
for (int rep = 1; rep <= repetitions; rep++)
{
    var load = File.ReadAllText("/proc/loadavg").Trim();
    var result = PredictedVsMeasured.CalibrateAndCompare(arch, BuiltInDeviceProfiles.HostBeforeCalibration, prompt, context, timer, model: model, form: form);
    var info = result.Calibration;
    Console.WriteLine();
    Console.WriteLine($"== repetition {rep}/{repetitions}; load average before: {load} (numbers under contention; re-measure on a quiet machine)");
    Console.WriteLine($"host calibration ({info.Method}; quantile {quantile} of {runs} interleaved runs): {info.MeasuredGFlops:0.0} GFLOP/s, attention {info.MeasuredAttentionGFlops:0.0} GFLOP/s, {info.MeasuredBandwidthGBps:0.0} GB/s, {info.MeasuredLaunchOverheadUs:0.00} us per kernel, "
        + "MatMulNBits " + string.Join(", ", info.MeasuredMatMulNBitsGOps!.Select(r => $"{r.Key}-bit {r.Value:0.00} G elements/s + {info.MeasuredMatMulNBitsParallelUs![r.Key]:0.0} us split")) + $", norm over rows {info.MeasuredRowsNormOverheadUs:0.00} us per kernel");
    foreach (var (how, report) in new[] { ("micro", result.Prefill), ("micro", result.Decode), ("model", result.WholePrefill!), ("model", result.WholeDecode!) })
    {
        if (report is null) continue;
        Console.WriteLine((report.Phase == Phase.Prefill ? $"prefill of {prompt} tokens (fp32)" : $"decode step at a context of {context} tokens (fp32)")
            + (how == "micro" ? ", each op its own micro graph" : ", the whole model.onnx, kernels attributed to ops"));
        if (rep == 1)
        {
            Console.WriteLine($"{"op",-28}{"kind",-11}{"kernels",9}{"predicted us",14}{"measured us",14}{"ratio",8}");
            foreach (var op in report.Ops)
                Console.WriteLine($"{op.Name,-28}{op.Kind,-11}{$"{op.PredictedKernels}/{op.MeasuredKernels}",9}{op.PredictedMs * 1e3,14:0.0}{op.MeasuredMs * 1e3,14:0.0}{op.PredictedMs / op.MeasuredMs,8:0.00}");
        }
        Console.WriteLine("  per layer (predicted/measured us): " + string.Join(", ", report.ByGroup.Select(g => $"{g.Group} {g.PredictedMs * 1e3:0}/{g.MeasuredMs * 1e3:0}"))
            + (report.UnattributedMs > 0 ? $"; unattributed {report.UnattributedMs * 1e3:0.0} us" : ""));
        var byKind = string.Join(", ", report.Ops.GroupBy(o => o.Kind).Select(g => $"{g.Key} {g.Sum(o => o.PredictedMs) / g.Sum(o => o.MeasuredMs):0.00}"));
        Console.WriteLine($"  predicted/measured by kind: {byKind}");
        var line = $"{how} {report.Phase,-8} total: predicted {report.PredictedTotalMs:0.000} ms, measured {report.MeasuredTotalMs:0.000} ms, error {report.TotalError * 100:+0.0;-0.0;0.0}%; Spearman {report.RankCorrelation:0.000} over {report.Ops.Count} ops";
        Console.WriteLine(line);
        summaries.Add($"rep {rep} (load {load.Split(' ')[0]}): {line}");
        if (how == "model" && report.Phase == Phase.Prefill && result.Host.MatMulNBitsPromptGFlops is not null)
        {
            // The same measurement costed as before the per-shape MatMulNBits prompt rates (further tokens at the float Gemm's rate).
            var before = Whole(result.Host with { MatMulNBitsPromptGFlops = null }, report.Phase);
            var measured = report.Ops.Select(o => o.MeasuredMs).ToList();
            var beforeLine = $"model {report.Phase,-8} without MatMulNBits prompt rates: predicted {before.Sum():0.000} ms, error {(before.Sum() - report.MeasuredTotalMs) / report.MeasuredTotalMs * 100:+0.0;-0.0;0.0}%; Spearman {RankCorrelation.Spearman(before, measured):0.000}";
            Console.WriteLine(beforeLine);
            summaries.Add($"rep {rep} (load {load.Split(' ')[0]}): {beforeLine}");
        }
    }
    // The profile stage's own calibration (the same graphs and timer, interleaved with the model but not with the micro
    // graphs, right after): its prediction of the whole model, which is what profile.json carries for host.
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var (stageHost, _) = HostCalibration.Calibrate(BuiltInDeviceProfiles.HostBeforeCalibration, threads, arch, prompt, context, form);
    var calibrationSeconds = clock.Elapsed.TotalSeconds;
    foreach (var whole in new[] { result.WholePrefill!, result.WholeDecode! })
    {
        var (tokens, keys) = DecoderOpCosts.Workload(whole.Phase, prompt, context);
        double predicted = Whole(stageHost, whole.Phase).Sum();
        double before = Whole(stageHost with { MatMulNBitsPromptGFlops = null }, whole.Phase).Sum();
        var line = $"rep {rep}: stage calibration ({calibrationSeconds:0.0} s; {stageHost.LaunchOverheadUs:0.00} us/kernel, {stageHost.MemoryBandwidthGBps:0.0} GB/s, {stageHost.Fp32GFlops:0.0}/{stageHost.AttentionGFlops:0.0} GFLOP/s) "
            + $"predicts model {whole.Phase} {predicted:0.000} ms vs measured {whole.MeasuredTotalMs:0.000} ms: error {(predicted - whole.MeasuredTotalMs) / whole.MeasuredTotalMs * 100:+0.0;-0.0;0.0}%"
            + (whole.Phase == Phase.Decode || stageHost.MatMulNBitsPromptGFlops is null ? "" : $" (without MatMulNBits prompt rates {(before - whole.MeasuredTotalMs) / whole.MeasuredTotalMs * 100:+0.0;-0.0;0.0}%)");
        Console.WriteLine(line);
        stageLines.Add(line);
    }
}
Console.WriteLine();
Console.WriteLine("summary:");
Console.WriteLine($"CPU {cpu} ({CpuId("cpu family")}, {CpuId("model")}); load at the end {File.ReadAllText("/proc/loadavg").Trim()}");
foreach (var line in stageLines) Console.WriteLine(line);
foreach (var line in summaries) Console.WriteLine(line);

// Every op of the whole model costed on a host profile, in the formats the graph runs them in (the order of the reports' ops).
List<double> Whole(DeviceProfileSpec host, Phase phase)
{
    var (tokens, keys) = DecoderOpCosts.Workload(phase, prompt, context);
    return DecoderOpCosts.For(arch, tokens, keys, 4, form: form).Select(op => CostModel.Cost(op, form.FormatOf(op), host, 16).LatencyMs).ToList();
}

static string CpuId(string field) =>
    File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith(field + "\t", StringComparison.Ordinal))?.Replace("\t", "").Trim() ?? field + " unknown";

static string FindSample()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        var candidate = Path.Combine(dir.FullName, "samples", "tiny-afm", "tiny-afm.afmproj");
        if (File.Exists(candidate)) return candidate;
    }
    throw new FileNotFoundException("samples/tiny-afm/tiny-afm.afmproj not found; pass a project path.");
}

// The bench reads literal properties only (no MSBuild evaluation); defaults as specs/afmproj.md.
static ArchitectureSpec ReadArchitecture(string path)
{
    var xml = XDocument.Load(path);
    string? Prop(string name) => xml.Descendants(name).LastOrDefault()?.Value.Trim();
    int Int(string name, int fallback) => Prop(name) is { Length: > 0 } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
    int dim = Int("ModelDim", 0), heads = Int("Heads", 0);
    int vocab = int.Parse(xml.Descendants("Tokenizer").First().Attribute("VocabSize")!.Value, CultureInfo.InvariantCulture);
    int maxSeq = Prop("MaxSequenceLength") is { Length: > 0 } m ? int.Parse(m, CultureInfo.InvariantCulture)
        : xml.Descendants("TrainingStage").Max(s => int.Parse(s.Attribute("SequenceLength")!.Value, CultureInfo.InvariantCulture));
    return new ArchitectureSpec
    {
        ModelDim = dim, Layers = Int("Layers", 0), Heads = heads, KvHeads = Int("KvHeads", heads),
        FfnDim = Int("FfnDim", (8 * dim / 3 + 63) / 64 * 64), VocabSize = vocab, RopeBase = 500000,
        TieEmbeddings = !string.Equals(Prop("TieEmbeddings"), "false", StringComparison.OrdinalIgnoreCase),
        QkNorm = !string.Equals(Prop("QkNorm"), "false", StringComparison.OrdinalIgnoreCase),
        MaxSequenceLength = maxSeq, NormEpsilon = 1e-5,
    };
}
