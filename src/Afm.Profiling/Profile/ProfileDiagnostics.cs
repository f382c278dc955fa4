using Afm.Core.Diagnostics;

namespace Afm.Profiling.Profile;

/// <summary>Codes raised by the profile stage and `afm profile` (specs/diagnostics.md, AFM51xx).</summary>
public static class ProfileDiagnostics
{
    public const string WorkloadExceedsContext = "AFM5101";
    public const string ModelExceedsDeviceMemory = "AFM5102";
    public const string UnknownFormat = "AFM5103";
    public const string PatternMatchesNoLayer = "AFM5104";
    public const string UnknownDeviceName = "AFM5105";
    public const string NoProfile = "AFM5106";
    public const string FormatNotProfiled = "AFM5107";

    public static DiagnosticException Error(string code, string message, SourceLocation? location = null) =>
        new(new Diagnostic(DiagnosticSeverity.Error, code, message, location ?? SourceLocation.FileOnly("afm")));
}
