using System.Globalization;
using Afm.Bench.Training;
using Afm.Core.Spec;
using Afm.Training;
using Afm.Training.Model;
using Afm.Training.Precision;

// Training speed of the sample model's shapes on this machine, side by side in one run:
//   1. the fp32 (and bf16) matmul peak, 1024x1024, 2 threads;
//   2. training tokens/s and MFU = (6 x params + attention) x tokens/s / fp32 peak;
//   3. what bounds MFU: per-step time of forward / backward / optimizer, and of the replayed matmuls and attention;
//   4. bf16 mixed precision vs fp32: speed, and the loss after the same steps from the same init.
// Usage: dotnet run -c Release --project bench/Afm.Bench.Training [timedSteps=20] [sample|qwen3-layers]
//   qwen3-layers: 4 layers of Qwen3-0.6B's shapes (dim 1024, 16/8 heads of 128, ffn 3072) over a vocabulary of 8192.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
// AFM_DETERMINISM=machine measures the kernels this CPU picks by itself; the default is the builds' portable kernels.
var determinism = Environment.GetEnvironmentVariable("AFM_DETERMINISM") == "machine" ? DeterminismMode.Machine : DeterminismMode.Portable;
TorchRuntime.PrepareProcess(determinism);
const int Threads = 2;
TorchRuntime.UseThreads(Threads, determinism);
Console.WriteLine($"determinism: {determinism}; CPU: {File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim()}, " +
    $"avx512_bf16: {File.ReadAllText("/proc/cpuinfo").Contains(" avx512_bf16", StringComparison.Ordinal)}; load average {File.ReadAllText("/proc/loadavg").Trim()}");
int timedSteps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
const int WarmupSteps = 2;

bool large = args.Length > 1 && args[1] == "qwen3-layers";
// samples/tiny-afm: dim 128, 4 layers, 4 query / 2 key-value heads, ffn 352, vocab 2048; core stage at 128 x 16.
var architecture = large
    ? new ArchitectureSpec
    {
        ModelDim = 1024, Layers = 4, Heads = 16, KvHeads = 8, FfnDim = 3072, VocabSize = 8192, RopeBase = 1000000, ExplicitHeadDim = 128,
        TieEmbeddings = true, QkNorm = true, MaxSequenceLength = 512, NormEpsilon = 1e-6,
    }
    : new ArchitectureSpec
    {
        ModelDim = 128, Layers = 4, Heads = 4, KvHeads = 2, FfnDim = 352, VocabSize = 2048, RopeBase = 500000,
        TieEmbeddings = true, QkNorm = true, MaxSequenceLength = 512, NormEpsilon = 1e-5,
    };
var stage = new TrainingStageSpec
{
    Name = "bench", Kind = StageKind.Pretrain, Tokens = 1, SequenceLength = large ? 256 : 128, BatchSize = large ? 4 : 16,
    LearningRate = large ? 3e-4 : 3e-3, WarmupSteps = 0, FinalLearningRateRatio = 1, Schedule = LearningRateSchedule.Constant,
    WeightDecay = 0.1, GradientClip = 1.0, RopeBase = architecture.RopeBase, Mix = [], EvalEvery = 1,
};
long parameters;
using (var probe = new AfmDecoder(architecture)) parameters = probe.ParameterCount;
long tokensPerStep = (long)stage.BatchSize * stage.SequenceLength;
// Model FLOPs per trained token (PaLM appendix B): 6N for the weights (forward 2N, backward 4N; N counts the tied
// embedding once, as the output projection's matmul) + 12 x layers x dim x length for attention scores and values.
double flopsPerToken = 6.0 * parameters + 12.0 * architecture.Layers * architecture.ModelDim * stage.SequenceLength;

Console.WriteLine($"Afm.Bench.Training: {Threads} threads, {Environment.ProcessorCount} logical CPUs; shared machine, numbers are under contention.");
Console.WriteLine($"model: dim {architecture.ModelDim}, {architecture.Layers} layers, {architecture.Heads}/{architecture.KvHeads} heads, ffn {architecture.FfnDim}, " +
                  $"vocab {architecture.VocabSize}, {parameters:N0} parameters; batch {stage.BatchSize} x {stage.SequenceLength} tokens; " +
                  $"{flopsPerToken / 1e6:0.00} MFLOP/token ({12.0 * architecture.Layers * architecture.ModelDim * stage.SequenceLength / flopsPerToken:P1} attention)");

// The peak is sampled before, between and after the training runs and the best kept: other engineers' jobs only ever
// slow a round down, so the fastest round is the closest to this machine's real peak.
double peak32 = 0, peak16 = 0;
void SamplePeak()
{
    peak32 = Math.Max(peak32, MatmulPeak.GflopsPerSecond(1024, TorchSharp.torch.ScalarType.Float32, TimeSpan.FromSeconds(2)));
    peak16 = Math.Max(peak16, MatmulPeak.GflopsPerSecond(1024, TorchSharp.torch.ScalarType.BFloat16, TimeSpan.FromSeconds(2)));
    // Every training run starts from the same global generator state, hence the same init (TrainingRun).
    TorchSharp.torch.manual_seed(0);
}
SamplePeak();
var fp32 = TrainingRun.Run(architecture, stage, WarmupSteps, timedSteps, bf16: false);
SamplePeak();
var bf16 = TrainingRun.Run(architecture, stage, WarmupSteps, timedSteps, bf16: true);
SamplePeak();
Console.WriteLine($"matmul peak 1024x1024 (best of 3 samples): fp32 {peak32:0.0} GFLOP/s, bf16 {peak16:0.0} GFLOP/s (bf16/fp32 {peak16 / peak32:0.00}x)");
double matmulSeconds = OpReplay.MatmulSeconds(architecture, stage.BatchSize, stage.SequenceLength, reps: 5);
double attention = OpReplay.AttentionSeconds(architecture, stage.BatchSize, stage.SequenceLength, reps: 5);

void Report(string name, StepTimes t, double peak)
{
    double tokensPerSecond = tokensPerStep / t.Total;
    double achieved = flopsPerToken * tokensPerSecond / 1e9;
    Console.WriteLine($"{name}: {t.Total * 1000:0} ms/step (forward {t.Forward * 1000:0}, backward {t.Backward * 1000:0}, optimizer {t.Optimizer * 1000:0}), " +
                      $"{tokensPerSecond:0} tokens/s, {achieved:0.0} GFLOP/s model, MFU {achieved / peak32:P1} of the fp32 peak" +
                      (peak != peak32 ? $" ({achieved / peak:P1} of the bf16 peak)" : "") + $", held-out loss after {WarmupSteps + timedSteps} steps {t.HeldOutLoss:0.0000}");
}
Report("fp32", fp32, peak32);
Report("bf16 (bf16 compute, fp32 master weights)", bf16, peak16);

double step = fp32.Total;
double other = fp32.Forward + fp32.Backward - matmulSeconds - attention;
Console.WriteLine($"fp32 step breakdown (replayed at the same shapes): linear-layer matmuls {matmulSeconds * 1000:0} ms ({matmulSeconds / step:P0}), " +
                  $"attention sdpa fwd+bwd {attention * 1000:0} ms ({attention / step:P0}), optimizer + clipping {fp32.Optimizer * 1000:0} ms ({fp32.Optimizer / step:P0}), " +
                  $"elementwise and the rest {other * 1000:0} ms ({other / step:P0})");
double matmulFlops = 6.0 * (parameters) * tokensPerStep;
Console.WriteLine($"replayed matmuls alone run at {matmulFlops / matmulSeconds / 1e9:0.0} GFLOP/s ({matmulFlops / matmulSeconds / 1e9 / peak32:P0} of the 1024x1024 peak) at the model's shapes (inner dimension {architecture.ModelDim}).");
Console.WriteLine($"bf16 vs fp32: speed {fp32.Total / bf16.Total:0.00}x, held-out loss difference after {WarmupSteps + timedSteps} steps {(bf16.HeldOutLoss < fp32.HeldOutLoss ? "-" : "+")}{Math.Abs(bf16.HeldOutLoss - fp32.HeldOutLoss):0.0000}");
Console.WriteLine(bf16.Total < 0.8 * fp32.Total && Math.Abs(bf16.HeldOutLoss - fp32.HeldOutLoss) < 0.02
    ? "decision: bf16 is clearly faster and as accurate here -> worth adopting."
    : "decision: keep fp32 (bf16 is not clearly faster, or not as accurate, on this machine).");
