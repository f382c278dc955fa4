using Afm.Core.Diagnostics;

namespace Afm.Core.Spec;

/// <summary>How the student starts when it has a teacher (specs/afmproj.md, Teacher's Prune metadata).</summary>
public enum TeacherInit { None, PruneFfn }

/// <summary>What the teacher contributes to the target (specs/afmproj.md, Teacher's Distill metadata).</summary>
public enum DistillTarget
{
    /// <summary>The teacher's most likely next token as a one-hot target (the AFM report's recipe).</summary>
    Top1,
    /// <summary>The teacher's whole next-token distribution, softmax(teacher logits / Temperature).</summary>
    Distribution,
}

/// <summary>
/// Distillation from a larger model (AFM on-device recipe): the teacher is another model project, built first by
/// the SDK; every training stage's target becomes (1 - Weight) x the true next token + Weight x the teacher's top-1
/// (or, with Distill="distribution", the teacher's tempered next-token distribution).
/// </summary>
public sealed record TeacherSpec
{
    /// <summary>The teacher's .afmproj, absolute.</summary>
    public required string ProjectPath { get; init; }
    /// <summary>Weight of the teacher's part (top-1 or distribution) in the convex target, in [0, 1].</summary>
    public required double Weight { get; init; }
    public required TeacherInit Init { get; init; }
    public DistillTarget Distill { get; init; } = DistillTarget.Top1;
    /// <summary>Divides the teacher's logits before its softmax (Distill="distribution" only): above 1 flattens the target.</summary>
    public double Temperature { get; init; } = 1.0;
    public SourceLocation? Location { get; init; }
    /// <summary>Where Prune was written (pruning diagnostics point there), else the item.</summary>
    public SourceLocation? InitLocation { get; init; }
}
