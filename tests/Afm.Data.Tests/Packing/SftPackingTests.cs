using Afm.Core.IO;
using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Tokenizers;

namespace Afm.Data.Tests.Packing;

/// <summary>Kind="sft" stages: prompt/response lines packed like pretraining data, with a loss mask on the response.</summary>
public sealed class SftPackingTests(DataStageFixture fixture) : IClassFixture<DataStageFixture>
{
    private static TrainingStageSpec Sft(string file, string prompt = "prompt", string response = "response") =>
        DataStageFixture.Stage("sft", 2000, 32) with { Kind = StageKind.Sft, Mix = [], Data = [file], PromptField = prompt, ResponseField = response };

    private static string WriteExamples(TempDirectory directory, int count, string prompt = "prompt", string response = "response")
    {
        var path = directory.Combine("sft.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(i => System.Text.Json.JsonSerializer.Serialize(
            new Dictionary<string, string> { [prompt] = $"Story {i}: how many stones? ", [response] = $"{i % 7} red stones." })));
        return path;
    }

    [Fact]
    public void The_mask_marks_exactly_the_response_and_end_of_document_tokens()
    {
        using var output = new TempDirectory();
        var file = WriteExamples(output, 40);
        DataStage.Run(fixture.Spec(Sft(file)), fixture.TokenizerDirectory, output.Combine("data"));
        var tokenizer = AfmTokenizer.Load(fixture.TokenizerDirectory);

        using var train = Assert.IsType<LossMaskedSequences>(LossMaskedSequences.Open(output.Combine("data"), "sft", "train"));
        Assert.Equal((2000 + 31) / 32, train.Count);
        var tokens = new int[33];
        var mask = new byte[33];
        int responses = 0;
        for (long s = 0; s < train.Count; s++)
        {
            train.Read(s, tokens);
            train.ReadLossMask(s, mask);
            for (int t = 1; t < 33; t++)
            {
                // End-of-document is always a target, and the token after it starts a prompt: never a target.
                if (tokens[t] == tokenizer.EndOfDocumentId) Assert.Equal(1, mask[t]);
                if (tokens[t - 1] == tokenizer.EndOfDocumentId) Assert.Equal(0, mask[t]);
                if (mask[t] == 1 && mask[t - 1] == 0) responses++;
            }
        }
        Assert.True(responses > train.Count, "each 32-token sequence holds more than one short example");
        // A masked-out span decodes to a prompt, a target span to a response.
        train.Read(0, tokens);
        train.ReadLossMask(0, mask);
        var firstResponse = Enumerable.Range(1, 32).First(t => mask[t] == 1 && mask[t - 1] == 0);
        var end = Array.IndexOf(tokens, tokenizer.EndOfDocumentId, firstResponse);
        Assert.Matches(@"^\d red stones\.$", tokenizer.Decode(tokens[firstResponse..end]));
    }

    [Fact]
    public void An_sft_stage_with_a_MixShare_gets_its_pretraining_mix_packed_beside_it_as_a_pretrain_stage()
    {
        using var output = new TempDirectory();
        var file = WriteExamples(output, 40);
        // BatchSize 4, share 0.5: 2 sequences of each step from the stories corpus.
        var sft = Sft(file) with { Mix = [new MixEntry("stories", 1.0)], MixShare = 0.5 };
        var index = DataStage.Run(fixture.Spec(sft), fixture.TokenizerDirectory, output.Combine("data"));

        Assert.Equal(["sft", "sft+mix"], index.Stages.Select(s => s.Name));
        var mix = index.Stage("sft+mix");
        Assert.Equal(sft.Steps * 2, mix.Train.Sequences);
        Assert.True(mix.Valid.Sequences > 0);
        Assert.Equal(["stories"], mix.Train.Corpora.Select(c => c.Corpus));
        // Plain pretraining sequences: no loss mask, every next token is a target.
        var train = LossMaskedSequences.Open(output.Combine("data"), "sft+mix", "train");
        using var plain = Assert.IsType<PackedSequences>(train);
    }

    [Fact]
    public void PromptField_and_ResponseField_select_other_fields()
    {
        using var output = new TempDirectory();
        var file = WriteExamples(output, 20, "text", "summary");
        var index = DataStage.Run(fixture.Spec(Sft(file, "text", "summary")), fixture.TokenizerDirectory, output.Combine("data"));
        Assert.True(index.Stage("sft").Train.Sequences > 0);
    }

    [Fact]
    public void A_line_without_the_response_field_is_AFM3001_at_that_line()
    {
        using var output = new TempDirectory();
        var file = WriteExamples(output, 5);
        File.AppendAllLines(file, ["", "{\"prompt\": \"2+2=\"}"]);
        var error = Assert.Throws<DiagnosticException>(() =>
            DataStage.Run(fixture.Spec(Sft(file)), fixture.TokenizerDirectory, output.Combine("data"))).Diagnostic;
        Assert.Equal(("AFM3001", new SourceLocation(file, 7, 1)), (error.Code, error.Location));
        Assert.Contains("\"response\"", error.Message);
    }

    [Fact]
    public void A_line_longer_than_16_Mi_characters_is_AFM2350_at_that_line_without_reading_it_whole()
    {
        using var output = new TempDirectory();
        var file = WriteExamples(output, 5);
        // Line 6: 1 GiB of zero bytes without a line break (sparse), as a file written without newlines would be.
        using (var stream = new FileStream(file, FileMode.Open)) stream.SetLength(stream.Length + (1L << 30));
        var error = Assert.Throws<DiagnosticException>(() =>
            DataStage.Run(fixture.Spec(Sft(file)), fixture.TokenizerDirectory, output.Combine("data"))).Diagnostic;
        Assert.Equal((JsonLinesFile.LineTooLong, new SourceLocation(file, 6, 1)), (error.Code, error.Location));
    }

    [Fact]
    public void A_single_example_leaves_nothing_to_validate_on_and_is_AFM2004_at_the_stage()
    {
        using var output = new TempDirectory();
        var file = WriteExamples(output, 1);
        var location = new SourceLocation("model.afmproj", 9, 5);
        var error = Assert.Throws<DiagnosticException>(() =>
            SftDataSet.Pack(Sft(file) with { Location = location }, fixture.Spec(Sft(file)), fixture.TokenizerDirectory, output.Combine("adapter"))).Diagnostic;
        Assert.Equal(("AFM2004", location), (error.Code, error.Location));
    }

    [Fact]
    public void A_pretrain_stage_has_no_loss_mask()
    {
        using var output = new TempDirectory();
        DataStage.Run(fixture.Spec(), fixture.TokenizerDirectory, output.Combine("data"));
        using var train = (IDisposable)LossMaskedSequences.Open(output.Combine("data"), "core", "train");
        Assert.IsType<PackedSequences>(train);
    }
}
