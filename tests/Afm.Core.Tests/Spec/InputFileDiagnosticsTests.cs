namespace Afm.Core.Tests.Spec;

/// <summary>
/// Paths that are not ordinary files (folders, devices, system files, wildcards over the whole disk) are AFM1306 at the
/// value that names them, instead of a stage that reads forever or fails inside.
/// </summary>
public sealed class InputFileDiagnosticsTests
{
    private const string Web = "<Corpus Include=\"data/web/*.txt\" Name=\"web\" />";
    private const string Context = "<TrainingStage Include=\"context\" Tokens=\"300k\" SequenceLength=\"1024\" RopeBase=\"6315089\" />";

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/proc/self/status")]
    [InlineData("data/web")]
    public void A_corpus_that_is_a_device_a_system_file_or_a_folder_is_AFM1306_at_Include(string include)
    {
        using var project = TestProject.With(Web, $"<Corpus Include=\"{include}\" Name=\"web\" />");
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1306", project.Locate($"Include=\"{include}\""));
        Assert.Contains(include.TrimStart('/').Split('/')[0], error.Message);
    }

    [Theory]
    [InlineData("/dev/zero", "device")]
    [InlineData("/**/x.jsonl", "every folder of the disk")]
    [InlineData("/*/x.jsonl", "every folder of the disk")]
    [InlineData("data/web", "folder")]
    public void Sft_Data_that_is_not_ordinary_files_is_AFM1306_at_Data(string data, string said)
    {
        using var project = TestProject.With(Context, $"<TrainingStage Include=\"sft\" Kind=\"sft\" Tokens=\"100k\" SequenceLength=\"256\" Data=\"{data}\" />");
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1306", project.Locate("Data="));
        Assert.Contains(said, error.Message);
    }

    [Fact]
    public void A_text_file_larger_than_one_document_can_be_is_AFM1307_at_Include()
    {
        using var project = TestProject.With(Web, "<Corpus Include=\"data/huge.txt\" Name=\"web\" />");
        // Sparse: takes no disk space, but its size is what the reader sees.
        using (var huge = File.Create(project.WriteFile("data/huge.txt", ""))) huge.SetLength((1L << 30) + 1);
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1307", project.Locate("Include=\"data/huge.txt\""));
        Assert.Contains("JSON lines", error.Message);
    }

    [Fact]
    public void An_empty_file_is_an_ordinary_file()
    {
        using var project = new TestProject();
        project.WriteFile("data/web/empty.txt", "");
        Assert.True(project.Read().Succeeded);
    }
}
