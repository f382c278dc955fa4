using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Afm.Runtime.Artifacts;

/// <summary>Who signed a verified artifact, as `afm verify` prints it.</summary>
/// <param name="Trusted">The certificate is, or chains to, one the caller trusts (<see cref="SignaturePolicy"/>).</param>
public sealed record ArtifactSigner(string Subject, string Sha256Thumbprint, string KeyAlgorithm, bool Trusted)
{
    public static ArtifactSigner Of(X509Certificate2 certificate, bool trusted) =>
        new(certificate.Subject, certificate.GetCertHashString(HashAlgorithmName.SHA256).ToLowerInvariant(),
            certificate.GetKeyAlgorithm() switch { "1.2.840.10045.2.1" => "ECDSA", "1.2.840.113549.1.1.1" => "RSA", var oid => oid }, trusted);
}
