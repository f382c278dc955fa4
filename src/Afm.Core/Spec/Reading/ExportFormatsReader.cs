namespace Afm.Core.Spec.Reading;

/// <summary>Reads AfmExportFormats and AfmGgufTypes: ';'-separated names, case-insensitive, each known.</summary>
internal static class ExportFormatsReader
{
    public static ExportFormatsSpec Read(SpecContext context)
    {
        var formats = context.Property("AfmExportFormats");
        var types = context.Property("AfmGgufTypes");
        return new ExportFormatsSpec
        {
            Formats = formats is { } f ? Names(context, f, ExportFormatNames.Known, DiagnosticCodes.UnknownExportFormat, "export format") : [],
            GgufTypes = types is { } t ? Names(context, t, ExportFormatNames.GgufTypes, DiagnosticCodes.UnknownGgufType, "GGUF type") : ExportFormatNames.GgufTypes,
            Location = formats?.Location,
        };
    }

    /// <summary>The known names <paramref name="value"/> lists, in <paramref name="known"/>'s order; each unknown one is reported.</summary>
    private static IReadOnlyList<string> Names(SpecContext context, RawValue value, IReadOnlyList<string> known, string code, string what)
    {
        var named = value.Text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(n => n.ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
        foreach (var unknown in named.Where(n => !known.Contains(n, StringComparer.Ordinal)).Order(StringComparer.Ordinal))
            context.Error(code, value.Location, $"{value.What} names '{unknown}', which is no {what}; write any of {string.Join(", ", known)}, separated by ';'.");
        return known.Where(named.Contains).ToList();
    }
}
