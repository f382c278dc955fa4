using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Afm.Runtime.Artifacts;

namespace Afm.Runtime.Tests.Artifacts;

/// <summary>specs/artifact.md promises that manifest.json.p7s is a standard detached CMS signature: OpenSSL checks it without the toolchain.</summary>
public sealed class SignatureInteropTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-runtime-tests", Guid.NewGuid().ToString("N")[..12]);

    public static TheoryData<string> KeyTypes => new() { "RSA", "ECDSA" };

    [SkippableTheory]
    [MemberData(nameof(KeyTypes))]
    public void OpenSSL_verifies_the_signature_of_the_manifest_and_rejects_it_for_other_bytes(string keyType)
    {
        Skip.If(!File.Exists("/usr/bin/openssl"), "needs /usr/bin/openssl");
        using var signer = keyType == "RSA" ? TestCertificates.Rsa("interop") : TestCertificates.Ecdsa("interop");
        Directory.CreateDirectory(directory);
        var manifest = Path.Combine(directory, "manifest.json");
        File.WriteAllText(manifest, """{"format":"afmpkg/1","files":[]}""");
        var signature = Path.Combine(directory, ArtifactSignature.EntryName);
        File.WriteAllBytes(signature, ArtifactSignature.Sign(File.ReadAllBytes(manifest), signer, []));
        var trusted = TestCertificates.WritePublicPem(signer, Path.Combine(directory, "signer.pem"));

        Assert.Equal(0, OpenSslCmsVerify(signature, manifest, trusted));
        File.AppendAllText(manifest, " ");
        Assert.NotEqual(0, OpenSslCmsVerify(signature, manifest, trusted));
    }

    private static int OpenSslCmsVerify(string signature, string content, string caFile)
    {
        var start = new ProcessStartInfo("/usr/bin/openssl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "cms", "-verify", "-binary", "-inform", "DER", "-in", signature, "-content", content, "-CAfile", caFile, "-purpose", "any", "-out", "/dev/null" })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode;
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
