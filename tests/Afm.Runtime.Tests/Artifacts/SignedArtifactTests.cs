using System.Security.Cryptography.X509Certificates;
using Afm.Core.Artifacts;
using Afm.Core.Diagnostics;
using Afm.Runtime.Artifacts;

namespace Afm.Runtime.Tests.Artifacts;

/// <summary>
/// The tamper cases of specs/artifact.md "Signature": with a signature required, each way of changing a signed
/// artifact is refused with its own code; without, a bad signature is still refused and an unsigned artifact loads.
/// </summary>
public sealed class SignedArtifactTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-runtime-tests", Guid.NewGuid().ToString("N")[..12]);
    private static readonly X509Certificate2 Builder = TestCertificates.Rsa("AFM test builder");
    private static readonly X509Certificate2 Stranger = TestCertificates.Ecdsa("Someone else");

    private SignaturePolicy TrustBuilder() =>
        SignaturePolicy.Load(required: true, [TestCertificates.WritePublicPem(Builder, Path.Combine(directory, "builder.pem"))]);

    private static SortedDictionary<string, byte[]> SignedBy(X509Certificate2 signer, SortedDictionary<string, byte[]> entries)
    {
        entries[ArtifactSignature.EntryName] = ArtifactSignature.Sign(entries[VerifiedArtifact.ManifestEntry], signer, []);
        return entries;
    }

    private static SortedDictionary<string, byte[]> ChangeModel(SortedDictionary<string, byte[]> entries)
    {
        var bytes = entries[VerifiedArtifact.OnnxModelEntry].ToArray();
        bytes[^1] ^= 0x01;
        entries[VerifiedArtifact.OnnxModelEntry] = bytes;
        return entries;
    }

    private static string Code(string path, SignaturePolicy policy) =>
        Assert.Throws<DiagnosticException>(() => VerifiedArtifact.Open(path, policy).Dispose()).Diagnostic.Code;

    [Fact]
    public void A_signed_untouched_artifact_loads_and_names_its_trusted_signer()
    {
        using var artifact = VerifiedArtifact.Open(TestArtifact.Create(directory, e => SignedBy(Builder, e)), TrustBuilder());
        Assert.Equal("CN=AFM test builder", artifact.Signer!.Subject);
        Assert.True(artifact.Signer.Trusted);
        Assert.Equal("RSA", artifact.Signer.KeyAlgorithm);
    }

    [Fact]
    public void A_changed_file_is_AFM7002()
    {
        var path = TestArtifact.Create(directory, e => ChangeModel(SignedBy(Builder, e)));
        Assert.Equal("AFM7002", Code(path, TrustBuilder()));
    }

    [Fact]
    public void A_changed_file_whose_manifest_hash_was_updated_is_AFM7009()
    {
        var path = TestArtifact.Create(directory, entries =>
        {
            SignedBy(Builder, entries);
            ChangeModel(entries);
            entries[VerifiedArtifact.ManifestEntry] = ManifestWithHashesOf(entries);
            return entries;
        });
        Assert.Equal("AFM7009", Code(path, TrustBuilder()));
    }

    [Fact]
    public void A_removed_signature_is_AFM7008()
    {
        var path = TestArtifact.Create(directory, entries => { SignedBy(Builder, entries).Remove(ArtifactSignature.EntryName); return entries; });
        Assert.Equal("AFM7008", Code(path, TrustBuilder()));
    }

    [Fact]
    public void A_signature_by_an_untrusted_key_is_AFM7010()
    {
        var path = TestArtifact.Create(directory, e => SignedBy(Stranger, e));
        Assert.Equal("AFM7010", Code(path, TrustBuilder()));
    }

    [Fact]
    public void Requiring_a_signature_without_trusted_certificates_uses_the_machine_roots_which_do_not_hold_a_self_signed_builder()
    {
        var path = TestArtifact.Create(directory, e => SignedBy(Builder, e));
        Assert.Equal("AFM7010", Code(path, new SignaturePolicy(required: true, [])));
    }

    [Fact]
    public void Without_a_required_signature_a_signed_artifact_with_a_bad_signature_is_still_AFM7009()
    {
        var path = TestArtifact.Create(directory, entries =>
        {
            SignedBy(Builder, entries);
            entries[ArtifactSignature.EntryName][^1] ^= 0x01;
            return entries;
        });
        Assert.Equal("AFM7009", Code(path, SignaturePolicy.Optional));
    }

    [Fact]
    public void Without_a_required_signature_an_unsigned_artifact_loads_as_before()
    {
        using var artifact = VerifiedArtifact.Open(TestArtifact.Create(directory), SignaturePolicy.Optional);
        Assert.Null(artifact.Signer);
    }

    [Fact]
    public void Without_a_required_signature_a_validly_signed_artifact_loads_and_reports_its_signer_as_not_trusted()
    {
        using var artifact = VerifiedArtifact.Open(TestArtifact.Create(directory, e => SignedBy(Stranger, e)), SignaturePolicy.Optional);
        Assert.Equal("ECDSA", artifact.Signer!.KeyAlgorithm);
        Assert.False(artifact.Signer.Trusted);
    }

    [Fact]
    public void An_RSA_signature_is_the_same_bytes_every_time_so_a_signed_build_stays_reproducible()
    {
        var manifest = TestArtifact.Utf8("""{"format":"afmpkg/1"}""");
        Assert.Equal(ArtifactSignature.Sign(manifest, Builder, []), ArtifactSignature.Sign(manifest, Builder, []));
    }

    [Fact]
    public void A_missing_trust_file_is_AFM7011()
    {
        var error = Assert.Throws<DiagnosticException>(() => SignaturePolicy.Load(false, [Path.Combine(directory, "nope.pem")]));
        Assert.Equal("AFM7011", error.Diagnostic.Code);
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("huge.pem")]
    public void A_trust_file_that_never_ends_or_holds_gigabytes_is_AFM7011_read_no_further_than_16_MiB(string file)
    {
        if (!file.StartsWith('/'))
        {
            file = Path.Combine(Directory.CreateDirectory(directory).FullName, file);
            using var stream = File.Create(file);
            stream.SetLength(4L << 30); // sparse: 4 GiB
        }
        var error = Assert.Throws<DiagnosticException>(() => SignaturePolicy.Load(false, [file])).Diagnostic;
        Assert.Equal("AFM7011", error.Code);
        Assert.Contains("16 MiB", error.Message);
    }

    private static byte[] ManifestWithHashesOf(SortedDictionary<string, byte[]> entries)
    {
        var manifest = System.Text.Json.JsonSerializer.Deserialize<Manifest>(entries[VerifiedArtifact.ManifestEntry], Web)!;
        manifest = manifest with
        {
            Files = manifest.Files.Select(f => f with { Sha256 = Hashing.Sha256(entries[f.Path]), Size = entries[f.Path].LongLength }).ToList(),
        };
        return System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(manifest, Web);
    }

    private static readonly System.Text.Json.JsonSerializerOptions Web = new(System.Text.Json.JsonSerializerDefaults.Web);

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
