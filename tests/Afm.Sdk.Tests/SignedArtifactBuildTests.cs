using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>`AfmSigningCertificate` signs the artifact in `dotnet build`; `afm verify` checks it against a trusted certificate.</summary>
[Collection(ToolchainCollection.Name)]
public sealed class SignedArtifactBuildTests
{
    private static string Compiler => RepositoryLayout.Compiler;

    [Fact]
    public void A_build_with_a_signing_certificate_makes_an_artifact_afm_verify_accepts_from_that_certificate_only()
    {
        using var project = ModelProject.Create(MicroModel.Project());
        var signer = WriteRsaIdentity(project, "CN=AFM E2E builder", "keys/builder.pem", "keys/builder.key");
        var stranger = WriteRsaIdentity(project, "CN=Someone else", "keys/other.pem", "keys/other.key");
        string[] signing = ["-p:AfmSigningCertificate=keys/builder.pem", "-p:AfmSigningKey=keys/builder.key"];

        var build = project.Build(signing);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("signed by CN=AFM E2E builder", build.Output);
        var package = project.PathOf("bin/Debug/micro.0.3.0.afmpkg");
        Assert.Contains("manifest.json.p7s", ArtifactReader.Open(package).Entries.Keys);

        var verify = ProcessRunner.Dotnet(project.Directory, Compiler, "verify", package, "--trust", signer);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Contains("signer: CN=AFM E2E builder", verify.Output);
        Assert.Contains("trusted", verify.Output);

        var untrusted = ProcessRunner.Dotnet(project.Directory, Compiler, "verify", package, "--trust", stranger);
        Assert.Equal(1, untrusted.ExitCode);
        Assert.Contains("error AFM7010", untrusted.Output);
        var run = ProcessRunner.Dotnet(project.Directory, Compiler, "run", package, "--prompt", "Ada", "--max-tokens", "2", "--trust", signer);
        Assert.True(run.ExitCode == 0, run.ToString());
        var runUntrusted = ProcessRunner.Dotnet(project.Directory, Compiler, "run", package, "--prompt", "Ada", "--max-tokens", "2", "--trust", stranger);
        Assert.Equal(1, runUntrusted.ExitCode);
        Assert.Contains("error AFM7010", runUntrusted.Output);

        // The signing inputs are part of the package stage's inputs: unchanged, nothing runs; an RSA signature is
        // deterministic, so repackaging gives the same bytes.
        Assert.True(project.Build([.. signing, "-question"]).ExitCode == 0, "an unchanged signed build is up to date");
        var first = File.ReadAllBytes(package);
        File.Delete(package);
        Assert.Equal(0, project.Build(signing).ExitCode);
        Assert.Equal(first, File.ReadAllBytes(package));

        // Dropping the certificate repackages an unsigned artifact, which a required signature refuses.
        var unsigned = project.Build();
        Assert.True(unsigned.ExitCode == 0, unsigned.ToString());
        Assert.DoesNotContain("manifest.json.p7s", ArtifactReader.Open(package).Entries.Keys);
        // Signing adds one entry and changes nothing else.
        var signedCopy = project.PathOf("signed.afmpkg");
        File.WriteAllBytes(signedCopy, first);
        var diff = ProcessRunner.Dotnet(project.Directory, Compiler, "diff", signedCopy, package);
        Assert.True(diff.ExitCode == 0, diff.ToString());
        Assert.Contains("- manifest.json.p7s\n0 changed, 0 added, 1 removed", diff.Output.ReplaceLineEndings("\n"));
        var refused = ProcessRunner.Dotnet(project.Directory, Compiler, "run", package, "--prompt", "Ada", "--require-signature");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("error AFM7008", refused.Output);
        Assert.DoesNotContain("AFM9003", refused.Output);

        // A certificate without its key cannot sign: a diagnostic at the file, not an internal error.
        var keyless = project.Build("-p:AfmSigningCertificate=keys/other.pem");
        Assert.NotEqual(0, keyless.ExitCode);
        Assert.Contains("error AFM7011", keyless.Output);
        Assert.DoesNotContain("AFM9003", keyless.Output);

        // One PEM holding an ECDSA certificate and its key signs too. ECDSA signatures are randomized: repackaging
        // changes manifest.json.p7s and nothing else (specs/artifact.md, "Determinism").
        var ecdsa = WriteEcdsaIdentityInOneFile(project, "CN=AFM E2E ecdsa", "keys/ecdsa.pem");
        Assert.Equal(0, project.Build("-p:AfmSigningCertificate=keys/ecdsa.pem").ExitCode);
        var ecdsaCopy = project.PathOf("ecdsa.afmpkg");
        File.Copy(package, ecdsaCopy);
        File.Delete(package);
        Assert.Equal(0, project.Build("-p:AfmSigningCertificate=keys/ecdsa.pem").ExitCode);
        var resigned = ProcessRunner.Dotnet(project.Directory, Compiler, "diff", ecdsaCopy, package);
        Assert.Contains("~ manifest.json.p7s\n1 changed, 0 added, 0 removed", resigned.Output.ReplaceLineEndings("\n"));
        var ecdsaVerify = ProcessRunner.Dotnet(project.Directory, Compiler, "verify", package, "--trust", ecdsa);
        Assert.True(ecdsaVerify.ExitCode == 0, ecdsaVerify.ToString());
        Assert.Contains("signer: CN=AFM E2E ecdsa", ecdsaVerify.Output);
        Assert.Contains("ECDSA), trusted", ecdsaVerify.Output);
    }

    /// <summary>A self-signed ECDSA P-256 certificate followed by its key in one PEM file; returns its full path.</summary>
    private static string WriteEcdsaIdentityInOneFile(ModelProject project, string subject, string file)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest(subject, key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        project.WriteFile(file, certificate.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem());
        return project.PathOf(file);
    }

    /// <summary>A self-signed RSA certificate and its key in two PEM files; returns the certificate's full path.</summary>
    private static string WriteRsaIdentity(ModelProject project, string subject, string certificateFile, string keyFile)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        project.WriteFile(certificateFile, certificate.ExportCertificatePem());
        project.WriteFile(keyFile, key.ExportPkcs8PrivateKeyPem());
        return project.PathOf(certificateFile);
    }
}
