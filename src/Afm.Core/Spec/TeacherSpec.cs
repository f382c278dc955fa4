using Afm.Core.Diagnostics;

namespace Afm.Core.Spec;

/// <summary>How the student starts when it has a teacher (specs/afmproj.md, Teacher's Prune metadata).</summary>
public enum TeacherInit { None, PruneFfn }

/// <summary>
/// Distillation from a larger model (AFM on-device recipe): the teacher is another model project, built first by
/// the SDK; every training stage's target becomes (1 - Weight) x the true next token + Weight x the teacher's top-1.
/// </summary>
public sealed record TeacherSpec
{
    /// <summary>The teacher's .afmproj, absolute.</summary>
    public required string ProjectPath { get; init; }
    /// <summary>Weight of the teacher's top-1 in the convex target, in [0, 1].</summary>
    public required double Weight { get; init; }
    public required TeacherInit Init { get; init; }
    public SourceLocation? Location { get; init; }
    /// <summary>Where Prune was written (pruning diagnostics point there), else the item.</summary>
    public SourceLocation? InitLocation { get; init; }
}
