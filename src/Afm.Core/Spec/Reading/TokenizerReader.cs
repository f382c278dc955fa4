namespace Afm.Core.Spec.Reading;

/// <summary>Reads the one &lt;Tokenizer&gt; item.</summary>
internal static class TokenizerReader
{
    private static readonly string[] Known = ["VocabSize", "SplitDigits", "ByteFallback", "SpecialTokens"];
    private static readonly string[] Kinds = ["bpe"];

    /// <summary>Byte fallback needs all 256 byte tokens; then the special tokens; then room for at least one merge.</summary>
    public static int MinimumVocabSize(int specialTokens) => 256 + specialTokens + 1;

    public static TokenizerSpec? Read(SpecContext context)
    {
        var items = context.Items("Tokenizer");
        if (items.Count == 0)
        {
            context.Error(DiagnosticCodes.TokenizerMissing, context.Locator.Project,
                "The project has no tokenizer. Add <Tokenizer Include=\"bpe\" VocabSize=\"4096\" /> to an <ItemGroup>.");
            return null;
        }
        foreach (var extra in items.Skip(1))
            context.Error(DiagnosticCodes.MultipleTokenizers, extra.Location,
                $"The project declares {items.Count} tokenizers, but a model has exactly one. Remove this <Tokenizer> or the one declared first.");
        foreach (var item in items) item.WarnAboutUnknownMetadata(Known);

        var tokenizer = items[0];
        var kind = tokenizer.Include.Trim().ToLowerInvariant();
        var kindIsKnown = Kinds.Contains(kind);
        if (!kindIsKnown)
            context.Error(DiagnosticCodes.UnknownTokenizerKind, tokenizer.IncludeLocation,
                $"Tokenizer kind '{tokenizer.Include}' is not supported. Write <Tokenizer Include=\"bpe\" ... />; supported kinds: {string.Join(", ", Kinds)}.");

        var specialTokens = ReadSpecialTokens(context, tokenizer);
        var vocabSize = tokenizer.Required("VocabSize", "4096") is { } v ? context.Int(v, SpecContext.Positive) : null;
        if (vocabSize is int size && specialTokens is not null && size < MinimumVocabSize(specialTokens.Count))
            context.Error(DiagnosticCodes.VocabSizeTooSmall, tokenizer.Get("VocabSize")!.Value.Location,
                $"VocabSize is {size}, but it must be at least {MinimumVocabSize(specialTokens.Count)}: 256 byte tokens, {specialTokens.Count} special tokens and at least one merge. Raise VocabSize.");

        var splitDigits = tokenizer.Get("SplitDigits") is { } sd ? context.Bool(sd) : true;
        var byteFallback = tokenizer.Get("ByteFallback") is { } bf ? context.Bool(bf) : true;
        if (!kindIsKnown || vocabSize is null || specialTokens is null || splitDigits is null || byteFallback is null) return null;
        return new TokenizerSpec
        {
            Kind = kind,
            VocabSize = vocabSize.Value,
            SplitDigits = splitDigits.Value,
            ByteFallback = byteFallback.Value,
            SpecialTokens = specialTokens,
            Location = tokenizer.Location,
        };
    }

    /// <summary>`;`-separated, in the order written: the order fixes their ids.</summary>
    private static List<string>? ReadSpecialTokens(SpecContext context, ItemView tokenizer)
    {
        if (tokenizer.Get("SpecialTokens") is not { } value) return [];
        var tokens = value.Text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        var duplicates = tokens.GroupBy(t => t, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count == 0) return tokens;
        context.Error(DiagnosticCodes.DuplicateSpecialToken, value.Location,
            $"SpecialTokens lists {string.Join(", ", duplicates.Select(d => $"'{d}'"))} more than once; each special token gets one id, so list it once.");
        return null;
    }
}
