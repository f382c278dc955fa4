using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Afm.Training.Optimization;

/// <summary>A parameter the optimizer updates, by its weight name, and whether weight decay applies to it.</summary>
public sealed record OptimizedParameter(string Name, Parameter Parameter, bool Decay);

/// <summary>
/// Base of the stage optimizers. We own the update math (rather than TorchSharp's optim classes) so that the
/// AFM optimizer exists at all, and so that every piece of optimizer state is a named tensor we can checkpoint
/// and restore bit for bit: resuming a killed stage must continue with exactly the same numbers.
/// State tensor names are "&lt;parameter&gt;.&lt;slot&gt;" (e.g. "layers.0.attn.q_proj.weight.exp_avg").
/// </summary>
public abstract class StageOptimizerBase : IDisposable
{
    private readonly Dictionary<string, Tensor> state = new(StringComparer.Ordinal);

    protected StageOptimizerBase(IReadOnlyList<OptimizedParameter> parameters, double weightDecay)
    {
        Parameters = parameters;
        WeightDecay = weightDecay;
        foreach (var p in parameters)
            foreach (string slot in Slots)
                state[$"{p.Name}.{slot}"] = zeros_like(p.Parameter).DetachFromDisposeScope();
    }

    public IReadOnlyList<OptimizedParameter> Parameters { get; }
    public double WeightDecay { get; }
    /// <summary>Optimizer steps taken (bias corrections use it).</summary>
    public long StepCount { get; private set; }

    /// <summary>Names of the per-parameter state tensors this optimizer keeps.</summary>
    protected abstract string[] Slots { get; }

    /// <summary>Applies one update with learning rate <paramref name="learningRate"/> (peak: <paramref name="peakLearningRate"/>).</summary>
    public void Step(double learningRate, double peakLearningRate)
    {
        StepCount++;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var p in Parameters)
        {
            if (p.Parameter.grad is not { } grad) continue;
            Update(p, grad, learningRate, peakLearningRate, StepCount);
        }
    }

    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.Parameter.grad?.zero_();
    }

    protected Tensor Slot(OptimizedParameter p, string slot) => state[$"{p.Name}.{slot}"];

    protected abstract void Update(OptimizedParameter p, Tensor grad, double learningRate, double peakLearningRate, long step);

    /// <summary>Every state tensor by name, in a stable order (for checkpoints).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> StateTensors() =>
        state.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value));

    /// <summary>Restores state saved by <see cref="StateTensors"/> and the step count it was saved at.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, long stepCount)
    {
        var missing = state.Keys.Where(k => !tensors.ContainsKey(k)).ToList();
        if (missing.Count > 0 || tensors.Count != state.Count)
            throw new InvalidDataException($"Optimizer state does not match this optimizer (missing: {string.Join(", ", missing.Take(5))}).");
        using var noGrad = no_grad();
        foreach (var (name, target) in state)
        {
            var source = tensors[name];
            if (!source.shape.SequenceEqual(target.shape))
                throw new InvalidDataException($"Optimizer state '{name}' has the wrong shape.");
            target.copy_(source);
        }
        StepCount = stepCount;
    }

    public void Dispose()
    {
        foreach (var t in state.Values) t.Dispose();
        state.Clear();
        GC.SuppressFinalize(this);
    }
}
