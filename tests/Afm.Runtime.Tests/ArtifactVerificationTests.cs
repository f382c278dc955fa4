using Afm.Core.Diagnostics;
using Afm.Runtime.Artifacts;

namespace Afm.Runtime.Tests;

public sealed class ArtifactVerificationTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-runtime-tests", Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public void An_untouched_artifact_loads_and_names_its_model()
    {
        using var model = AfmModel.Load(TestArtifact.Create(directory));
        Assert.Equal("micro-test", model.Id);
        Assert.True(model.Session.VocabSize > 256);
    }

    [Fact]
    public void A_changed_byte_in_the_onnx_model_is_refused_with_AFM7002()
    {
        var path = TestArtifact.Create(directory, entries =>
        {
            var bytes = entries[VerifiedArtifact.OnnxModelEntry].ToArray();
            bytes[^1] ^= 0x01;
            entries[VerifiedArtifact.OnnxModelEntry] = bytes;
            return entries;
        });
        var error = Assert.Throws<DiagnosticException>(() => AfmModel.Load(path));
        Assert.Equal("AFM7002", error.Diagnostic.Code);
        Assert.Contains("model/model.onnx does not match its SHA-256", error.Message);
    }

    [Fact]
    public void A_file_added_after_packaging_is_refused_with_AFM7002()
    {
        var path = TestArtifact.Create(directory, entries => { entries["model/extra.onnx"] = [1, 2, 3]; return entries; });
        var error = Assert.Throws<DiagnosticException>(() => AfmModel.Load(path));
        Assert.Equal("AFM7002", error.Diagnostic.Code);
        Assert.Contains("model/extra.onnx is not listed", error.Message);
    }

    [Fact]
    public void A_removed_file_is_refused_with_AFM7002()
    {
        var path = TestArtifact.Create(directory, entries => { entries.Remove("tokenizer/merges.txt"); return entries; });
        var error = Assert.Throws<DiagnosticException>(() => AfmModel.Load(path));
        Assert.Equal("AFM7002", error.Diagnostic.Code);
        Assert.Contains("tokenizer/merges.txt is missing", error.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_zip_is_AFM7001()
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "not.afmpkg");
        File.WriteAllText(path, "hello");
        Assert.Equal("AFM7001", Assert.Throws<DiagnosticException>(() => AfmModel.Load(path)).Diagnostic.Code);
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
