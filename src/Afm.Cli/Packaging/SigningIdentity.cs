using Afm.Core.Artifacts;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Afm.Runtime;
using Afm.Runtime.Artifacts;

namespace Afm.Cli.Packaging;

/// <summary>
/// The certificate and private key that sign an artifact (`AfmSigningCertificate` / `AfmSigningKey`, `afm package
/// --signing-certificate/--signing-key`): a PEM file with the certificate and its key, or the certificate in one file
/// and the key in another. Further certificates in the certificate file are the chain the signature carries.
/// </summary>
public sealed record SigningIdentity(X509Certificate2 Certificate, X509Certificate2Collection Chain)
{
    public static SigningIdentity Load(string certificateFile, string? keyFile)
    {
        Require(certificateFile, "signing certificate");
        if (keyFile is not null) Require(keyFile, "signing key");
        X509Certificate2 certificate;
        var all = new X509Certificate2Collection();
        try
        {
            certificate = keyFile is null ? X509Certificate2.CreateFromPemFile(certificateFile) : X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
            all.ImportFromPemFile(certificateFile);
        }
        catch (CryptographicException e)
        {
            throw RuntimeCodes.Error(RuntimeCodes.CertificateUnusable, keyFile ?? certificateFile,
                $"cannot read a certificate and its unencrypted private key from '{certificateFile}'{(keyFile is null ? "" : $" and '{keyFile}'")} ({e.Message}). " +
                "Give a PEM with the certificate and its key, or the key in AfmSigningKey.");
        }
        if (ArtifactSigner.Of(certificate, trusted: false).KeyAlgorithm is not ("RSA" or "ECDSA"))
            throw RuntimeCodes.Error(RuntimeCodes.CertificateUnusable, certificateFile, $"the signing key of '{certificateFile}' is neither RSA nor ECDSA.");
        var chain = new X509Certificate2Collection();
        foreach (var other in all)
            if (!other.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span)) chain.Add(other);
        return new SigningIdentity(certificate, chain);
    }

    private static void Require(string file, string what)
    {
        if (!File.Exists(file)) throw RuntimeCodes.Error(RuntimeCodes.CertificateUnusable, file, $"no {what} file at '{Path.GetFullPath(file)}'.");
    }

    /// <summary>Adds the signature of the manifest among <paramref name="entries"/> (specs/artifact.md, "Signature").</summary>
    public byte[] SignManifest(byte[] manifest) => ArtifactSignature.Sign(manifest, Certificate, Chain);
}
