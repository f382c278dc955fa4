using Afm.Core.Artifacts;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;

namespace Afm.Runtime.Artifacts;

/// <summary>
/// The signature of an .afmpkg: the entry <see cref="EntryName"/>, a detached CMS (PKCS#7) SignedData in DER whose
/// content is the exact bytes of manifest.json, SHA-256 digest, carrying the signer's certificate and any chain
/// certificates the signing PEM held. The manifest hashes every other entry, so one signature covers all of them.
/// No signed attributes are added (no signing time): with an RSA key (PKCS#1 v1.5, deterministic) two builds of the
/// same inputs produce the same signature; ECDSA signatures are randomized, so with an ECDSA key this entry is the
/// one that differs between builds (specs/artifact.md).
/// </summary>
public static class ArtifactSignature
{
    public const string EntryName = ArtifactLayout.ManifestSignature;

    public static byte[] Sign(byte[] manifest, X509Certificate2 signer, X509Certificate2Collection chain)
    {
        var cms = new SignedCms(new ContentInfo(manifest), detached: true);
        var cmsSigner = new CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, signer)
        {
            DigestAlgorithm = new Oid("2.16.840.1.101.3.4.2.1"), // SHA-256
            IncludeOption = X509IncludeOption.EndCertOnly,
        };
        cmsSigner.Certificates.AddRange(chain);
        cms.ComputeSignature(cmsSigner, silent: true);
        return cms.Encode();
    }

    /// <summary>Checks that <paramref name="signature"/> is a valid signature of <paramref name="manifest"/>.</summary>
    /// <returns>The signer's certificate and the other certificates the signature carries; null if it does not verify.</returns>
    public static (X509Certificate2 Signer, X509Certificate2Collection Carried)? Verify(byte[] manifest, byte[] signature)
    {
        try
        {
            var cms = new SignedCms(new ContentInfo(manifest), detached: true);
            cms.Decode(signature);
            if (cms.SignerInfos.Count != 1 || cms.SignerInfos[0].Certificate is not { } signer) return null;
            cms.SignerInfos[0].CheckSignature(verifySignatureOnly: true);
            return (signer, cms.Certificates);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}
