using Afm.Core.Artifacts;
using Afm.Core.Diagnostics;
using Afm.Runtime.Artifacts;
using static Afm.Runtime.Tests.Artifacts.RawZip;

namespace Afm.Runtime.Tests.Artifacts;

/// <summary>Archives a package stage never writes: each is refused with a diagnostic, never loaded, never a crash.</summary>
public sealed class ArtifactReaderHardeningTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-runtime-tests", Guid.NewGuid().ToString("N")[..12]);
    private static readonly byte[] Model = TestArtifact.Utf8("not really onnx");

    private string Zip(params Entry[] entries) => Write(Path.Combine(directory, Guid.NewGuid().ToString("N")[..8] + ".afmpkg"), entries);

    private static DiagnosticException Refused(string path) => Assert.Throws<DiagnosticException>(() => VerifiedArtifact.Open(path).Dispose());

    [Fact]
    public void Two_entries_of_one_name_are_AFM7002()
    {
        var path = Zip(Manifest((VerifiedArtifact.OnnxModelEntry, Model)), Entry.Of(VerifiedArtifact.OnnxModelEntry, Model), Entry.Of(VerifiedArtifact.OnnxModelEntry, [1, 2]));
        var error = Refused(path);
        Assert.Equal("AFM7002", error.Diagnostic.Code);
        Assert.Contains("two entries named model/model.onnx", error.Message);
    }

    [Fact]
    public void Two_manifests_are_AFM7002()
    {
        var path = Zip(Manifest((VerifiedArtifact.OnnxModelEntry, Model)), Manifest(Array.Empty<HashedFile>()), Entry.Of(VerifiedArtifact.OnnxModelEntry, Model));
        Assert.Equal("AFM7002", Refused(path).Diagnostic.Code);
    }

    [Fact]
    public void Names_that_differ_only_in_case_are_AFM7002_because_they_collide_on_a_case_insensitive_disk()
    {
        var path = Zip(Manifest((VerifiedArtifact.OnnxModelEntry, Model), ("Model/Model.onnx", Model)),
            Entry.Of(VerifiedArtifact.OnnxModelEntry, Model), Entry.Of("Model/Model.onnx", Model));
        Assert.Equal("AFM7002", Refused(path).Diagnostic.Code);
    }

    [Fact]
    public void An_entry_whose_name_is_longer_than_a_file_name_can_be_is_AFM7002_not_an_IO_error()
    {
        var name = "model/" + new string('a', 300);
        var path = Zip(Manifest((VerifiedArtifact.OnnxModelEntry, Model), (name, Model)), Entry.Of(VerifiedArtifact.OnnxModelEntry, Model), Entry.Of(name, Model));
        Assert.Equal("AFM7002", Refused(path).Diagnostic.Code);
    }

    [Fact]
    public void An_entry_that_is_also_the_folder_of_another_is_AFM7002_not_an_IO_error()
    {
        var path = Zip(Manifest((VerifiedArtifact.OnnxModelEntry, Model), ("model", Model)), Entry.Of(VerifiedArtifact.OnnxModelEntry, Model), Entry.Of("model", Model));
        var error = Refused(path);
        Assert.Equal("AFM7002", error.Diagnostic.Code);
        Assert.Contains("the entry model is also the folder of model/model.onnx", error.Message);
    }

    [Theory]
    [InlineData("../escape.txt")]
    [InlineData("model/../../escape.txt")]
    [InlineData("/etc/escape.txt")]
    [InlineData("model\\..\\escape.txt")]
    [InlineData("C:/escape.txt")]
    [InlineData("model//escape.txt")]
    [InlineData("model/./escape.txt")]
    [InlineData("model/escape\u0001.txt")]
    [InlineData("model/model.onnx.")]
    [InlineData("model/model.onnx ")]
    public void An_entry_with_a_path_trick_is_refused_even_when_the_manifest_lists_it(string name)
    {
        var path = Zip(Manifest((VerifiedArtifact.OnnxModelEntry, Model), (name, Model)), Entry.Of(VerifiedArtifact.OnnxModelEntry, Model), Entry.Of(name, Model));
        var error = Refused(path);
        Assert.Equal("AFM7002", error.Diagnostic.Code);
        Assert.Contains("is not a plain relative path", error.Message);
    }

    [Fact]
    public void An_entry_larger_than_its_manifest_size_is_refused_before_it_is_read()
    {
        const long size = 512L << 20; // 512 MB of zeros: a 0.5 MB zip
        var path = Zip(Manifest(new HashedFile(VerifiedArtifact.OnnxModelEntry, Model.Length, Hashing.Sha256(Model))), new Entry(VerifiedArtifact.OnnxModelEntry, Zeros(size)));
        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Refused(path);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("AFM7002", error.Diagnostic.Code);
        Assert.Contains("model/model.onnx does not match its SHA-256 in the manifest (it holds 536,870,912 bytes where the manifest says 15)", error.Message);
        Assert.True(allocated < 16L << 20, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public void A_large_listed_entry_is_streamed_to_disk_not_held_in_memory()
    {
        const long size = 256L << 20;
        string zeros;
        using (var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256))
        {
            var chunk = new byte[1 << 20];
            for (long left = size; left > 0; left -= chunk.Length) hash.AppendData(chunk);
            zeros = Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        var path = Zip(Manifest(new HashedFile(VerifiedArtifact.OnnxModelEntry, size, zeros)), new Entry(VerifiedArtifact.OnnxModelEntry, Zeros(size)));
        var before = GC.GetAllocatedBytesForCurrentThread();
        using var artifact = VerifiedArtifact.Open(path);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(size, new FileInfo(artifact.OnnxModelPath).Length);
        Assert.True(allocated < 16L << 20, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public async Task A_named_pipe_is_AFM7001_instead_of_blocking_forever()
    {
        Directory.CreateDirectory(directory);
        var fifo = Path.Combine(directory, "pipe.afmpkg");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo])) mkfifo.WaitForExit();
        var open = Task.Run(() => Refused(fifo));
        Assert.Same(open, await Task.WhenAny(open, Task.Delay(TimeSpan.FromSeconds(20))));
        Assert.Equal("AFM7001", (await open).Diagnostic.Code);
    }

    [Fact]
    public void An_empty_file_is_AFM7001()
    {
        Directory.CreateDirectory(directory);
        var empty = Path.Combine(directory, "empty.afmpkg");
        File.WriteAllBytes(empty, []);
        Assert.Equal("AFM7001", Refused(empty).Diagnostic.Code);
    }

    [Fact]
    public void A_manifest_that_lists_a_null_file_is_AFM7002()
    {
        var path = Zip(Entry.Of(VerifiedArtifact.ManifestEntry, TestArtifact.Utf8(
            """{"format":"afmpkg/1","name":"x","version":"1","toolchain":{"name":"a","version":"b"},"seed":1,"threads":1,"stages":[],"inputs":[],"files":[null]}""")));
        Assert.Equal("AFM7002", Refused(path).Diagnostic.Code);
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
