using Afm.Runtime.Artifacts;
using static Afm.Runtime.Tests.Artifacts.RawZip;

namespace Afm.Runtime.Tests.Artifacts;

public sealed class ArtifactDiffTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-runtime-tests", Guid.NewGuid().ToString("N")[..12]);

    private string Zip(string name, params Entry[] entries) => Write(Path.Combine(directory, name), entries);

    [Fact]
    public void Entries_are_reported_added_removed_or_changed_and_equal_ones_are_not()
    {
        var a = Zip("a.afmpkg", Entry.Of("same.bin", [1, 2]), Entry.Of("gone.bin", [3]), Entry.Of("model/model.onnx", [4, 5]));
        var b = Zip("b.afmpkg", Entry.Of("same.bin", [1, 2]), Entry.Of("new.bin", [6]), Entry.Of("model/model.onnx", [4, 6]));

        var diff = ArtifactDiff.Compare(a, b);

        Assert.Equal(["new.bin"], diff.Added);
        Assert.Equal(["gone.bin"], diff.Removed);
        Assert.Equal("model/model.onnx", Assert.Single(diff.Changed).Name);
        Assert.Empty(diff.Changed[0].Values);
    }

    [Fact]
    public void A_changed_JSON_report_lists_each_number_that_differs_by_its_path()
    {
        var a = Zip("a.afmpkg", Entry.Of("reports/quantization.json", TestArtifact.Utf8("""{"layers":[{"name":"l0","error":0.14866},{"name":"l1","error":0.2}],"bits":3.68}""")));
        var b = Zip("b.afmpkg", Entry.Of("reports/quantization.json", TestArtifact.Utf8("""{"layers":[{"name":"l0","error":0.14859},{"name":"l1","error":0.2}],"bits":3.68,"kl":0.1}""")));

        var values = Assert.Single(ArtifactDiff.Compare(a, b).Changed).Values;

        Assert.Equal([new("$.layers[0].error", "0.14866", "0.14859"), new ArtifactDiff.ValueChange("$.kl", "(absent)", "0.1")], values);
    }

    [Fact]
    public void Two_copies_of_one_artifact_are_identical()
    {
        var a = TestArtifact.Create(Path.Combine(directory, "one"));
        var b = Path.Combine(directory, "copy.afmpkg");
        File.Copy(a, b);
        Assert.True(ArtifactDiff.Compare(a, b).Identical);
    }

    [Fact]
    public void A_zip_with_two_entries_of_one_name_is_AFM7002_not_a_crash()
    {
        var a = Zip("a.afmpkg", Entry.Of("x.json", [1]));
        var b = Zip("b.afmpkg", Entry.Of("x.json", [1]), Entry.Of("x.json", [2]));
        Assert.Equal("AFM7002", Assert.Throws<Afm.Core.Diagnostics.DiagnosticException>(() => ArtifactDiff.Compare(a, b)).Diagnostic.Code);
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
