using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Afm.Runtime.Tests.Artifacts;

/// <summary>Real self-signed signing certificates made in the test with .NET's CertificateRequest.</summary>
internal static class TestCertificates
{
    public static X509Certificate2 Rsa(string name)
    {
        using var key = RSA.Create(2048);
        return SelfSigned(new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    public static X509Certificate2 Ecdsa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return SelfSigned(new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256));
    }

    private static X509Certificate2 SelfSigned(CertificateRequest request)
    {
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    /// <summary>Writes the certificate (public part only) as PEM, as a verifier would receive it.</summary>
    public static string WritePublicPem(X509Certificate2 certificate, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, certificate.ExportCertificatePem());
        return path;
    }
}
