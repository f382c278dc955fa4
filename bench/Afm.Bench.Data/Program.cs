using System.Diagnostics;
using System.Globalization;
using System.Text;
using Afm.Bench.Data;
using Afm.Data.Tokenization;
using Afm.Tokenizers;

// Data bench: BPE training throughput, encode throughput of the trained vocabulary through Microsoft.ML.Tokenizers
// against byte-level baselines (measured side by side in one run on the same text), then the data stage's filters.
// Usage: dotnet run -c Release --project bench/Afm.Bench.Data [-- <training MB> <vocab size> <encode MB>]
var trainingMegabytes = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 20;
var vocabSize = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8192;
var encodeMegabytes = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 5;

var corpus = BenchCorpus.Load((long)(trainingMegabytes * 1_000_000));
Console.WriteLine($"corpus: {corpus.Description}: {corpus.Documents.Count} documents, {corpus.Bytes / 1e6:F1} MB");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {LoadAverage()} (numbers under contention are lower bounds)");
var work = Path.Combine(Path.GetTempPath(), "afm-bench-data", Guid.NewGuid().ToString("N"));

// 1. Training throughput.
var clock = Stopwatch.StartNew();
var vocabulary = BpeTrainer.Train(corpus.Documents, new BpeTrainingOptions(vocabSize, SplitDigits: true, ByteFallback: true, []));
clock.Stop();
vocabulary.Save(Path.Combine(work, "bpe"));
Console.WriteLine($"train  : vocab {vocabSize} ({vocabulary.MergeCount} merges, {vocabulary.ReservedCount} reserved) on {corpus.Bytes / 1e6:F1} MB " +
                  $"in {clock.Elapsed.TotalSeconds:F1} s = {corpus.Bytes / 1e6 / clock.Elapsed.TotalSeconds:F2} MB/s");

// 2. Encoding throughput: the same text through three encoders.
BpeTrainer.Train(["x"], new BpeTrainingOptions(257, SplitDigits: true, ByteFallback: true, [])).Save(Path.Combine(work, "bytes"));
var ours = AfmTokenizer.Load(Path.Combine(work, "bpe"));
var bytesOnly = AfmTokenizer.Load(Path.Combine(work, "bytes"));
var text = corpus.Prefix((long)(encodeMegabytes * 1_000_000));
Encode(text.Documents, d => ours.Encode(d).Count); // warm-up: regex compilation and caches
Encode(text.Documents, d => bytesOnly.Encode(d).Count);

var bpe = Encode(text.Documents, d => ours.Encode(d).Count);
var library = Encode(text.Documents, d => bytesOnly.Encode(d).Count);
var raw = Encode(text.Documents, RawBytes);
void Row(string name, (long Tokens, double Seconds) r) =>
    Console.WriteLine($"encode : {name,-44} {text.Bytes / 1e6 / r.Seconds,8:F2} MB/s  {r.Tokens / r.Seconds / 1e6,7:F2} M tokens/s  {(double)text.Bytes / r.Tokens:F2} bytes/token");
Console.WriteLine($"encode : {text.Bytes / 1e6:F1} MB, one thread, best of 3");
Row($"our BPE ({vocabSize}) via Microsoft.ML.Tokenizers", bpe);
Row("bytes only (257, no merges) via ML.Tokenizers", library);
Row("raw UTF-8 bytes as ids (no library)", raw);
Console.WriteLine($"ratios : our BPE MB/s / bytes-only ML.Tokenizers = {library.Seconds / bpe.Seconds:F2}x, / raw bytes = {raw.Seconds / bpe.Seconds:F3}x; " +
                  $"sequence length vs bytes = {(double)bpe.Tokens / raw.Tokens:F3}x");

// 3. The data stage with its filters, on the training text.
DataStageBench.Run(corpus, Path.Combine(work, "bpe"), vocabSize, work);
Directory.Delete(work, recursive: true);

static (long Tokens, double Seconds) Encode(IReadOnlyList<string> documents, Func<string, int> encode)
{
    var best = double.MaxValue;
    long tokens = 0;
    for (var run = 0; run < 3; run++)
    {
        tokens = 0;
        var clock = Stopwatch.StartNew();
        foreach (var document in documents) tokens += encode(document);
        best = Math.Min(best, clock.Elapsed.TotalSeconds);
    }
    return (tokens, best);
}

static int RawBytes(string document)
{
    var bytes = Encoding.UTF8.GetBytes(document);
    var ids = new int[bytes.Length];
    for (var i = 0; i < bytes.Length; i++) ids[i] = bytes[i] + 1; // id = 1 + byte, as in a vocabulary with one special token
    return ids.Length;
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";
