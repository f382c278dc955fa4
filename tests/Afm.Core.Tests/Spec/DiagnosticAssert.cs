using Afm.Core.Diagnostics;
using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

internal static class DiagnosticAssert
{
    /// <summary>The project fails with exactly this one error, at exactly this place.</summary>
    public static Diagnostic SingleError(SpecResult result, string code, SourceLocation location)
    {
        Assert.Null(result.Spec);
        var error = Assert.Single(result.Diagnostics, d => d.IsError);
        Assert.True(code == error.Code && location == error.Location,
            $"expected {code} at {location}, got: {string.Join(" | ", result.Diagnostics)}");
        return error;
    }

    public static void Error(SpecResult result, string code, SourceLocation location)
    {
        Assert.Null(result.Spec);
        Assert.True(result.Diagnostics.Any(d => d.IsError && d.Code == code && d.Location == location),
            $"expected {code} at {location}, got: {string.Join(" | ", result.Diagnostics)}");
    }
}
