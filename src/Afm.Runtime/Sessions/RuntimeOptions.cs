namespace Afm.Runtime.Sessions;

/// <summary>Where ONNX Runtime executes the graph. Only the CPU provider is held by this machine's package source.</summary>
public enum ExecutionProvider { Cpu }

/// <summary>
/// When ONNX Runtime expands compressed weights (palettized/int8 initializers and the standard ops over them,
/// specs/onnx-export.md "Compressed weights"). Has no effect on a float model.
/// </summary>
public enum WeightExpansion
{
    /// <summary>Constant folding computes the float weights once, at session load (the default: decode speed of a float model).</summary>
    AtLoad,
    /// <summary>Constant folding is disabled, so every run expands the weights it uses (only the compressed bytes stay resident).</summary>
    OnTheFly,
}

public sealed record RuntimeOptions
{
    public ExecutionProvider ExecutionProvider { get; init; } = ExecutionProvider.Cpu;
    /// <summary>Threads of one Run (0 = ONNX Runtime's default: one per physical core).</summary>
    public int IntraOpThreads { get; init; }
    /// <summary>
    /// Whether ORT's idle worker threads spin. Off by default: on a machine shared with other work (our 2-core
    /// build machines, a phone) spinning threads steal the cores the computing thread needs, as TorchSharp's
    /// OpenMP threads did before the trainer made them passive.
    /// </summary>
    public bool AllowSpinning { get; init; }
    /// <summary>When compressed weights are expanded (specs/onnx-export.md compares both).</summary>
    public WeightExpansion WeightExpansion { get; init; } = WeightExpansion.AtLoad;
    /// <summary>
    /// When set, ONNX Runtime's own profiler records every Run (per-kernel times, Chrome trace JSON) into a file whose name
    /// starts with this prefix; <see cref="DecoderSession.EndProfiling"/> closes it and returns its path. Off by default:
    /// it adds a timestamp pair per kernel.
    /// </summary>
    public string? ProfilePrefix { get; init; }
}
