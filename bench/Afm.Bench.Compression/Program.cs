using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Afm.Compression;
using Afm.Compression.Allocation;
using Afm.Compression.Calibration;
using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training;
using Afm.Training.Stages;

// Compression bench on a trained model's weights (default: the tiny-afm sample after `dotnet build samples/tiny-afm/tiny-afm.afmproj`).
// Everything is measured side by side in one run, on the same validation sequences:
//   1. palettized layer by layer (Fisher k-means, GPTQ rounding, LUT refits) vs uniform round-to-nearest at equal effective
//      bits per weight, every linear layer at 4, 3 and 2 bits (embedding int8 in both); 1e the plan's palettizer (with grid
//      tuning) over several draws (the issue's criterion); 1b-1d studies of the session-2 palettizer (nearest rounding): fairness, dense-and-sparse, noise;
//   2. the mixed plan at TargetBitsPerWeight 3.7 vs random allocations of the same bits;
//   3. the bytes of the stored quantized weights vs parameters x effective bits / 8.
// Usage: dotnet run -c Release --project bench/Afm.Bench.Compression [-- <afm obj folder> <validation sequences> <random allocations>
//        <sections: all (1, 1e, 2, 3) | 1e | studies (1b, 1c, 1d) | 1c> <k-means iterations> <calibration sequences> <draws for 1e>]
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
// libtorch is prepared below, with the sample's own threads and determinism mode, before its first use.
string afm = Path.GetFullPath(args.Length > 0 ? args[0] : "samples/tiny-afm/obj/Debug/afm");
int validationCount = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 256;
int randomRuns = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
int kmeansIterations = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 30;
int calibrationCount = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 32;
int draws = args.Length > 6 ? int.Parse(args[6], CultureInfo.InvariantCulture) : 6;

var options = new JsonSerializerOptions { PropertyNameCaseInsensitive = true, Converters = { new JsonStringEnumConverter() } };
var baseSpec = JsonSerializer.Deserialize<ModelSpec>(File.ReadAllText(Path.Combine(afm, "spec", "spec.json")), options)!;
// A private copy: another build of the sample may rewrite its train folder while this runs.
string weightsPath = Path.Combine(Path.GetTempPath(), $"afm-bench-compression-{Guid.NewGuid():N}.safetensors");
File.Copy(Path.Combine(afm, "train", "model.safetensors"), weightsPath);
string lastStage = baseSpec.TrainingStages[^1].Name;
using var calibrationData = PackedSequences.Open(Path.Combine(afm, "data"), lastStage, DataSplit.Train);
using var validationData = PackedSequences.Open(Path.Combine(afm, "data"), lastStage, DataSplit.Validation);
Console.WriteLine($"model: {baseSpec.Name} dim {baseSpec.Architecture.ModelDim}, {baseSpec.Architecture.Layers} layers, vocab {baseSpec.Architecture.VocabSize}; " +
    $"stage '{lastStage}' ({validationData.SequenceLength} tokens/sequence), {Math.Min(validationCount, validationData.Count)} validation sequences");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} (shared machine; accuracy numbers do not depend on load)");

QuantizationPlanSpec Plan(double? target) => new()
{
    Name = "bench", Method = QuantizationMethod.Palettize, Bits = 4, LowBits = 2, GroupSize = 16, LutType = LutType.Fp16,
    Embedding = EmbeddingFormat.Int8PerChannel, Importance = ImportanceKind.Fisher, TargetBitsPerWeight = target,
    Overrides = [], KeepFloat = [], CalibrationSequences = calibrationCount, KMeansIterations = kmeansIterations,
};

TorchRuntime.UseThreads(baseSpec.Threads, baseSpec.Determinism);
using var model = Trainer.LoadModel(baseSpec.Architecture, weightsPath);
var weights = ModelWeights.Read(model);
var original = weights.ToDictionary(w => w.Name, w => w.Values);
var layers = LayerPlan.For(Plan(null), weights.Select(w => (w.Name, w.Shape)));
var validation = Evaluator.Spread(validationData, validationCount);
var calibration = Evaluator.Spread(calibrationData, calibrationCount);
var importance = FisherImportance.Measure(model, calibrationData, calibration);
var hessians = InputCovariance.Measure(model, calibrationData, calibration);
using var reference = Trainer.LoadModel(baseSpec.Architecture, weightsPath); // stays float: the divergence's reference
var quantizer = new LayerQuantizer(Plan(null), baseSpec.Seed, baseSpec.Threads, importance, hessians);
var unweighted = new LayerQuantizer(Plan(null) with { Importance = ImportanceKind.None }, baseSpec.Seed, baseSpec.Threads, null, hessians);

double Perplexity(Func<LayerPlan, float[]> values)
{
    foreach (var layer in layers) ModelWeights.Set(model, layer.WeightName, values(layer));
    double loss = Evaluator.MeanLoss(model, validationData, validation);
    foreach (var layer in layers) ModelWeights.Set(model, layer.WeightName, original[layer.WeightName]);
    return Math.Exp(loss);
}

double floatPpl = Perplexity(l => original[l.WeightName]);
var embedding = layers.Single(l => l.Role == LayerRole.Int8Embedding);
var embeddingInt8 = quantizer.Quantize(embedding, original[embedding.WeightName]).Dequantize();
double embeddingOnly = Perplexity(l => l == embedding ? embeddingInt8 : original[l.WeightName]);
Console.WriteLine($"float perplexity {floatPpl:F4}; with only the embedding int8-per-channel {embeddingOnly:F4}");
string sections = args.Length > 3 ? args[3] : "all";
var linear = layers.Where(l => l.Role == LayerRole.Allocatable).ToList();
if (sections == "1e")
{
    Console.WriteLine();
    Compensation.Run(linear, original, importance, hessians, baseSpec.Seed, baseSpec.Threads, kmeansIterations, draws, SequenceMeasures, Tune);
    File.Delete(weightsPath);
    return;
}
if (sections == "1c")
{
    // Only the dense-and-sparse comparison (quick experiments); a full run prints it after 1b.
    Console.WriteLine();
    SparseComparison.Run(linear, original, importance, baseSpec.Seed, baseSpec.Threads, kmeansIterations, [0.0005, 0.0045], SequenceLosses);
    File.Delete(weightsPath);
    return;
}
Console.WriteLine();
Console.WriteLine("1. every linear layer at b bits, group 16 rows, embedding int8 (gap = perplexity - float); palettized layer by layer (Fisher k-means, GPTQ rounding, LUT refits; " +
    "before the plan's grid tuning, which 1e includes), uniform round-to-nearest");
Console.WriteLine("bits | bpw palettized | bpw uniform | ppl palettized | ppl uniform | gap ratio (palettized/uniform; acceptance <= 0.5) | ppl palettized without Fisher | its gap ratio");
var candidates = new Dictionary<(string, int), PalettizedTensor>();
foreach (int bits in new[] { 4, 3, 2 })
{
    var pal = linear.ToDictionary(l => l.WeightName, l => (PalettizedTensor)quantizer.Quantize(l, original[l.WeightName], bits));
    foreach (var (name, t) in pal) candidates[(name, bits)] = t;
    var uni = pal.ToDictionary(p => p.Key, p => LayerQuantizer.UniformAtEqualBits(p.Value, original[p.Key]));
    double Bpw(IEnumerable<QuantizedTensor> ts) => 8.0 * ts.Sum(t => t.StorageBytes) / ts.Sum(t => t.Count);
    double palPpl = Perplexity(l => l == embedding ? embeddingInt8 : pal.TryGetValue(l.WeightName, out var t) ? t.Dequantize() : original[l.WeightName]);
    double uniPpl = Perplexity(l => l == embedding ? embeddingInt8 : uni.TryGetValue(l.WeightName, out var t) ? t.Dequantize() : original[l.WeightName]);
    var plain = linear.ToDictionary(l => l.WeightName, l => unweighted.Quantize(l, original[l.WeightName], bits));
    double plainPpl = Perplexity(l => l == embedding ? embeddingInt8 : plain.TryGetValue(l.WeightName, out var t) ? t.Dequantize() : original[l.WeightName]);
    Console.WriteLine($"{bits,4} | {Bpw(pal.Values),14:F4} | {Bpw(uni.Values),11:F4} | {palPpl,14:F4} | {uniPpl,11:F4} | {(palPpl - floatPpl) / (uniPpl - floatPpl),6:F3} | " +
        $"{plainPpl,6:F4} | {(plainPpl - floatPpl) / (uniPpl - floatPpl),6:F3}");
}

(double[] Loss, double[] Kl) SequenceMeasures(Func<LayerPlan, float[]?> replace)
{
    bool any = layers.Any(l => replace(l) is not null);
    foreach (var layer in layers) ModelWeights.Set(model, layer.WeightName, replace(layer) ?? (any && layer == embedding ? embeddingInt8 : original[layer.WeightName]));
    var perSequence = validation.Select(i => Evaluator.MeanLossAndDivergence(reference, model, validationData, [i])).ToList();
    var result = (perSequence.Select(m => m.Loss).ToArray(), perSequence.Select(m => m.Divergence).ToArray());
    foreach (var layer in layers) ModelWeights.Set(model, layer.WeightName, original[layer.WeightName]);
    return result;
}
// Grid tuning as the quantize stage runs it (the plan's steps and rate), with the int8 embedding in place as deployed.
IReadOnlyDictionary<string, QuantizedTensor> Tune(IReadOnlyDictionary<string, QuantizedTensor> tensors)
{
    var plan = Plan(null);
    var sequences = GridTuning.Sequences(calibrationData, plan.TuningSteps);
    var all = tensors.Values.Append(quantizer.Quantize(embedding, original[embedding.WeightName])).ToList();
    return GridTuning.Tune(model, original, calibrationData, sequences, calibration, all, plan.TuningSteps, plan.TuningLearningRate)
        .Where(t => tensors.ContainsKey(t.Name)).ToDictionary(t => t.Name);
}
double[] SequenceLosses(Func<LayerPlan, float[]?> replace)
{
    // Quantized variants get the int8 embedding, as in section 1; the float reference (replace gives null everywhere) does not.
    bool any = layers.Any(l => replace(l) is not null);
    foreach (var layer in layers) ModelWeights.Set(model, layer.WeightName, replace(layer) ?? (any && layer == embedding ? embeddingInt8 : original[layer.WeightName]));
    var result = validation.Select(i => Evaluator.MeanLoss(model, validationData, [i])).ToArray();
    foreach (var layer in layers) ModelWeights.Set(model, layer.WeightName, original[layer.WeightName]);
    return result;
}
if (sections == "all")
{
    Console.WriteLine();
    Compensation.Run(linear, original, importance, hessians, baseSpec.Seed, baseSpec.Threads, kmeansIterations, draws, SequenceMeasures, Tune);
}
if (sections == "studies")
{
    // Session 2's studies of the palettizer with nearest rounding (the README keeps their numbers).
    Console.WriteLine();
    var nearest = new LayerQuantizer(Plan(null) with { Rounding = RoundingKind.Nearest }, baseSpec.Seed, baseSpec.Threads, importance);
    var unweightedNearest = new LayerQuantizer(Plan(null) with { Rounding = RoundingKind.Nearest, Importance = ImportanceKind.None }, baseSpec.Seed, baseSpec.Threads, null);
    var longer = new LayerQuantizer(Plan(null) with { Rounding = RoundingKind.Nearest, KMeansIterations = 4 * kmeansIterations }, baseSpec.Seed, baseSpec.Threads, importance);
    FairComparison.Run(linear, (l, b) => (PalettizedTensor)nearest.Quantize(l, original[l.WeightName], b),
        (l, b) => (PalettizedTensor)unweightedNearest.Quantize(l, original[l.WeightName], b),
        (l, b) => (PalettizedTensor)longer.Quantize(l, original[l.WeightName], b), original, importance, SequenceLosses);
    Console.WriteLine();
    SparseComparison.Run(linear, original, importance, baseSpec.Seed, baseSpec.Threads, kmeansIterations, [0.0005, 0.0045], SequenceLosses);
    Console.WriteLine();
    RealizationNoise.Run(linear, original, importance, baseSpec.Seed, baseSpec.Threads, kmeansIterations, SequenceLosses);
    File.Delete(weightsPath);
    return;
}

Console.WriteLine();
Console.WriteLine("2. mixed plan, TargetBitsPerWeight 3.7 (bits per weight of the quantized layers, LUTs included)");
var stopwatch = System.Diagnostics.Stopwatch.StartNew();
var result = QuantizationPipeline.Run(new QuantizationInputs(baseSpec with { Quantization = Plan(3.7) }, weightsPath, calibrationData, validationData, validationCount));
Console.WriteLine($"the quantize stage's work (QuantizationPipeline.Run) took {stopwatch.Elapsed.TotalSeconds:F1} s (load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
var report = result.Report;
var chosenBits = report.Layers.Where(l => l.Role == "allocated").ToDictionary(l => l.Name + ".weight", l => l.Bits!.Value);
long chosenStorage = linear.Sum(l => candidates[(l.WeightName, chosenBits[l.WeightName])].StorageBytes);
Console.WriteLine($"allocator: {report.Totals.BitsPerWeight:F4} bpw (|target - achieved| = {Math.Abs(3.7 - report.Totals.BitsPerWeight):F4}; acceptance <= 0.05), " +
    $"{chosenBits.Count(b => b.Value == 2)} of {chosenBits.Count} layers at 2 bits, perplexity {report.Perplexity.Quantized:F4} " +
    $"(uniform at equal bits {report.Perplexity.UniformBaseline:F4}, float {report.Perplexity.Float:F4})");
var randomPpl = new List<double>();
for (int run = 0; run < randomRuns; run++)
{
    // Lower layers in a seeded random order while the total stays at or above the allocator's: never fewer bits than it.
    var random = new Random(1000 + run);
    var bits = linear.ToDictionary(l => l.WeightName, _ => 4);
    long total = linear.Sum(l => candidates[(l.WeightName, 4)].StorageBytes);
    foreach (var l in linear.OrderBy(_ => random.Next()))
    {
        long lowered = total - candidates[(l.WeightName, 4)].StorageBytes + candidates[(l.WeightName, 2)].StorageBytes;
        if (lowered >= chosenStorage) { bits[l.WeightName] = 2; total = lowered; }
    }
    // Tuned as the stage tunes the allocator's choice, so both sides get the same treatment.
    var tuned = Tune(bits.ToDictionary(b => b.Key, b => (QuantizedTensor)candidates[(b.Key, b.Value)]));
    double ppl = Perplexity(l => l == embedding ? embeddingInt8 : tuned.TryGetValue(l.WeightName, out var t) ? t.Dequantize() : original[l.WeightName]);
    randomPpl.Add(ppl);
    Console.WriteLine($"random allocation {run}: {8.0 * total / linear.Sum(l => l.Count):F4} bpw, {bits.Count(b => b.Value == 2)} layers at 2 bits, perplexity {ppl:F4}");
}
Console.WriteLine($"allocator perplexity {report.Perplexity.Quantized:F4} vs random mean {randomPpl.Average():F4} (best {randomPpl.Min():F4}, worst {randomPpl.Max():F4}): " +
    $"allocator beats {randomPpl.Count(p => p > report.Perplexity.Quantized)} of {randomPpl.Count}");

Console.WriteLine();
Console.WriteLine("3. stored size of the quantized weights");
string stored = Path.Combine(Path.GetTempPath(), $"afm-bench-quantized-{Guid.NewGuid():N}.safetensors");
QuantizedWeightsFile.Write(stored, result.Weights, result.Metadata);
long fileBytes = new FileInfo(stored).Length;
long parameters = report.Totals.Parameters;
Console.WriteLine($"file {fileBytes} bytes; parameters {parameters} x {report.Totals.ModelBitsPerWeight:F4} bpw (whole file: int8 embedding, float norms) / 8 = " +
    $"{parameters * report.Totals.ModelBitsPerWeight / 8:F0} bytes; ratio {fileBytes / (parameters * report.Totals.ModelBitsPerWeight / 8):F4} (acceptance <= 1.05)");
Console.WriteLine($"float32 weights {parameters * 4} bytes: {parameters * 4.0 / fileBytes:F2}x smaller");
File.Delete(stored);
File.Delete(weightsPath);
