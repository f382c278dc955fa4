using System.Text.Json.Serialization;

namespace Afm.Core.Spec;

/// <summary>
/// The arithmetic a TrainingStage or Adapter trains in (<c>Precision</c> metadata, specs/afmproj.md "Precision").
/// Master weights and optimizer state are float32 in every mode; the modes differ in what the forward and backward
/// passes compute in. fp32 is the default, and a spec that does not name another mode serializes without it, so
/// the fingerprints and spec.json of projects written before Precision existed are unchanged.
/// </summary>
public enum TrainingPrecision
{
    [JsonStringEnumMemberName("fp32")]
    Fp32,
    /// <summary>Forward and backward on a bfloat16 copy of the weights (norms and losses in float32), float32 master weights.</summary>
    [JsonStringEnumMemberName("bf16-mixed")]
    Bf16Mixed,
    /// <summary>Measured when the stage starts: bf16-mixed where this CPU's bf16 matmuls are clearly faster, else fp32; fp32 under portable determinism.</summary>
    [JsonStringEnumMemberName("auto")]
    Auto,
}

public static class TrainingPrecisionNames
{
    /// <summary>The keyword a project writes (and reports print) for <paramref name="precision"/>.</summary>
    public static string Keyword(this TrainingPrecision precision) => precision switch
    {
        TrainingPrecision.Bf16Mixed => "bf16-mixed",
        TrainingPrecision.Auto => "auto",
        _ => "fp32",
    };
}
