using Afm.Core.Diagnostics;
using Afm.Runtime.Generation;

namespace Afm.Runtime.Tests;

/// <summary>The size bound refuses a prompt without tokenizing it, so it must never refuse one that fits the context.</summary>
public sealed class PromptSizeBoundTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    private TextGenerator Generator => fixture.Model.Generator;
    private int Context => fixture.Model.Session.MaxSequenceLength;

    public static TheoryData<string> Pieces => ["Ada has a red kite. ", "kite", "é", "日本", "😀", "\n", " ", "12", "<|endoftext|>", "zq"];

    [Theory]
    [MemberData(nameof(Pieces))]
    public void A_prompt_that_fits_the_context_passes_the_bound(string piece)
    {
        // The longest repetition of the piece that still fits, whatever its bytes per token.
        var prompt = "";
        while (Generator.Tokenize(prompt + piece).Count < Context) prompt += piece;
        Generator.ValidatePromptSize(prompt);
        Generator.Validate(new GenerationOptions(), Generator.Tokenize(prompt).Count);
    }

    [Fact]
    public void A_prompt_far_over_the_context_in_bytes_is_AFM7004_without_tokenizing()
    {
        var error = Assert.Throws<DiagnosticException>(() => Generator.ValidatePromptSize(new string('a', 10 << 20)));
        Assert.Equal("AFM7004", error.Diagnostic.Code);
        Assert.Contains("at least", error.Diagnostic.Message);
    }
}
