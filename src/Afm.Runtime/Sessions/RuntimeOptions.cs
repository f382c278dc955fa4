namespace Afm.Runtime.Sessions;

/// <summary>Where ONNX Runtime executes the graph. Only the CPU provider is held by this machine's package source.</summary>
public enum ExecutionProvider { Cpu }

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
}
