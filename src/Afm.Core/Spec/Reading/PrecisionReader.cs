namespace Afm.Core.Spec.Reading;

/// <summary>
/// The Precision metadata of TrainingStage and Adapter items (specs/afmproj.md, "Precision"): fp32, bf16-mixed or auto.
/// bf16-mixed cannot be portable: the bf16 matrix products are done by different instructions on different CPUs (AVX512-BF16
/// dot products, AMX tiles, or conversion to float32), each rounding its own way, and portable mode caps the kernels at
/// AVX2, where bf16 is only converted and slower than fp32. So an explicit bf16-mixed under portable determinism is an
/// error, and auto resolves to fp32 there without measuring.
/// </summary>
internal static class PrecisionReader
{
    public const string Metadata = "Precision";

    public static TrainingPrecision? Read(SpecContext context, ItemView item, DeterminismMode? determinism)
    {
        if (item.Get(Metadata) is not { } value) return TrainingPrecision.Fp32;
        var precision = context.Choice(value, DiagnosticCodes.UnknownPrecision,
            ("fp32", TrainingPrecision.Fp32), ("bf16-mixed", TrainingPrecision.Bf16Mixed), ("auto", TrainingPrecision.Auto));
        if (precision == TrainingPrecision.Bf16Mixed && determinism == DeterminismMode.Portable)
        {
            context.Error(DiagnosticCodes.Bf16UnderPortableDeterminism, value.Location,
                $"{value.What} is 'bf16-mixed', but AfmDeterminism is portable: bf16 matrix products round differently on different CPUs, " +
                "so the bytes could not be the same on every machine. Write Precision=\"auto\" (fp32 under portable, the faster one " +
                "under machine determinism), Precision=\"fp32\", or set <AfmDeterminism>machine</AfmDeterminism>.");
            return null;
        }
        return precision;
    }
}
