using Afm.Core.IO;
using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Tokenizers;

namespace Afm.Data.Tests.Packing;

/// <summary>Kind="reward" and Kind="dpo" stages: preference pairs packed as two padded, masked sequences each, with their labels.</summary>
public sealed class PreferencePackingTests(DataStageFixture fixture) : IClassFixture<DataStageFixture>
{
    private static TrainingStageSpec Reward(string file) =>
        DataStageFixture.Stage("rm", 2000, 32) with { Kind = StageKind.Reward, Mix = [], Data = [file], Preference = new PreferenceStageSpec() };

    private static string Line(int i, string level = "better", string grades = "") =>
        $"{{\"prompt\": \"Pay {i}: \", \"chosen\": \"{i} red stones.\", \"rejected\": \"{i + 1} red stones.\", \"level\": \"{level}\"{grades}}}";

    private static string Write(TempDirectory directory, IEnumerable<string> lines)
    {
        var path = directory.Combine("pairs.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void Each_pair_is_its_chosen_then_its_rejected_sequence_padded_with_the_response_masked_and_its_labels()
    {
        using var output = new TempDirectory();
        string[] levels = ["significantly better", "better", "slightly better", "negligibly better"];
        var file = Write(output, Enumerable.Range(0, 40).Select(i => Line(i, levels[i % 4], i % 2 == 0 ? ", \"chosen_grade\": 0.75" : "")));
        DataStage.Run(fixture.Spec(Reward(file)), fixture.TokenizerDirectory, output.Combine("data"));
        var tokenizer = AfmTokenizer.Load(fixture.TokenizerDirectory);

        using var train = PreferencePairs.TryOpen(output.Combine("data"), "rm", DataSplit.Train)!;
        using var validation = PreferencePairs.TryOpen(output.Combine("data"), "rm", DataSplit.Validation)!;
        Assert.Equal(40, train.Count + validation.Count);
        Assert.True(validation.Count >= 1);
        Assert.Equal(32, train.ResponseLength);
        var tokens = new int[2 * 33];
        var mask = new byte[2 * 33];
        var seen = new HashSet<PreferenceLevel>();
        for (long p = 0; p < train.Count; p++)
        {
            train.Read(p, tokens);
            train.ReadLossMask(p, mask);
            var texts = new[] { 0, 33 }.Select(offset =>
            {
                var span = tokens.AsSpan(offset, 33);
                var m = mask.AsSpan(offset, 33);
                int start = m.IndexOf((byte)1), last = m.LastIndexOf((byte)1);
                Assert.Equal(tokenizer.EndOfDocumentId, span[last]);
                Assert.All(span[(last + 1)..].ToArray(), t => Assert.Equal(tokenizer.EndOfDocumentId, t)); // padding
                return (Prompt: tokenizer.Decode(span[..start].ToArray()), Response: tokenizer.Decode(span[start..last].ToArray()));
            }).ToArray();
            var i = int.Parse(texts[0].Prompt["Pay ".Length..^2], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(($"Pay {i}: ", $"{i} red stones.", $"{i + 1} red stones."), (texts[1].Prompt, texts[0].Response, texts[1].Response));
            Assert.Equal((PreferenceLevel)(i % 4), train.Level(p));
            Assert.Equal(i % 2 == 0 ? 0.75f : float.NaN, train.ChosenGrade(p));
            Assert.True(float.IsNaN(train.RejectedGrade(p)));
            seen.Add(train.Level(p));
        }
        Assert.Equal(4, seen.Count);
    }

    [Fact]
    public void A_reward_and_a_dpo_stage_on_the_same_Data_hold_out_the_same_pairs()
    {
        using var output = new TempDirectory();
        var file = Write(output, Enumerable.Range(0, 60).Select(i => Line(i)));
        var dpo = Reward(file) with { Name = "align", Kind = StageKind.Dpo };
        DataStage.Run(fixture.Spec(Reward(file), dpo), fixture.TokenizerDirectory, output.Combine("data"));

        using var rm = PreferencePairs.TryOpen(output.Combine("data"), "rm", DataSplit.Validation)!;
        using var align = PreferencePairs.TryOpen(output.Combine("data"), "align", DataSplit.Validation)!;
        Assert.Equal(rm.ContentHash(), align.ContentHash());
    }

    [Theory]
    [InlineData("not json", "AFM2300")]
    [InlineData("[1, 2]", "AFM2300")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"a\", \"level\": \"better\"}", "AFM2301")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": 3, \"rejected\": \"b\", \"level\": \"better\"}", "AFM2301")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"level\": \"much better\"}", "AFM2302")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}", "AFM2302")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"level\": \"better\", \"chosen_grade\": 5}", "AFM2303")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"level\": \"better\", \"rejected_grade\": \"good\"}", "AFM2303")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"same\", \"rejected\": \"same\", \"level\": \"better\"}", "AFM2304")]
    public void A_bad_line_is_reported_at_its_file_and_line(string bad, string code)
    {
        using var output = new TempDirectory();
        var file = Write(output, [Line(1), "", Line(2), bad, Line(3)]);
        var error = Assert.Throws<DiagnosticException>(() =>
            DataStage.Run(fixture.Spec(Reward(file)), fixture.TokenizerDirectory, output.Combine("data"))).Diagnostic;
        Assert.Equal((code, new SourceLocation(file, 4, 1)), (error.Code, error.Location));
    }

    [Fact]
    public void A_pair_longer_than_the_sequence_length_is_AFM2305_at_its_line()
    {
        using var output = new TempDirectory();
        var file = Write(output, [Line(1), $"{{\"prompt\": \"{string.Join(' ', Enumerable.Repeat("long words here", 30))}\", \"chosen\": \"a\", \"rejected\": \"b\", \"level\": \"better\"}}"]);
        var error = Assert.Throws<DiagnosticException>(() =>
            DataStage.Run(fixture.Spec(Reward(file)), fixture.TokenizerDirectory, output.Combine("data"))).Diagnostic;
        Assert.Equal(("AFM2305", new SourceLocation(file, 2, 1)), (error.Code, error.Location));
    }

    [Fact]
    public void A_preference_file_without_line_breaks_is_AFM2350_at_line_1()
    {
        using var output = new TempDirectory();
        var file = output.Combine("pairs.jsonl");
        using (var stream = File.Create(file)) stream.SetLength(1L << 30); // sparse: 1 GiB, one line
        var error = Assert.Throws<DiagnosticException>(() =>
            DataStage.Run(fixture.Spec(Reward(file)), fixture.TokenizerDirectory, output.Combine("data"))).Diagnostic;
        Assert.Equal((JsonLinesFile.LineTooLong, new SourceLocation(file, 1, 1)), (error.Code, error.Location));
    }

    [Fact]
    public void Data_of_blank_lines_is_AFM2306_at_the_stage()
    {
        using var output = new TempDirectory();
        var file = Write(output, ["", "  "]);
        var location = new SourceLocation("model.afmproj", 9, 5);
        var error = Assert.Throws<DiagnosticException>(() =>
            DataStage.Run(fixture.Spec(Reward(file) with { Location = location }), fixture.TokenizerDirectory, output.Combine("data"))).Diagnostic;
        Assert.Equal(("AFM2306", location), (error.Code, error.Location));
    }
}
