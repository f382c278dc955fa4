using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Afm.Runtime.Artifacts;

/// <summary>
/// What a reader demands of an artifact's signature. By default a signature is optional, but one that is present
/// must verify (a signed artifact whose signature does not match is tampered, AFM7009). Required (`--require-signature`,
/// implied by `--trust`), an unsigned artifact is refused (AFM7008) and the signer must be, or chain to, a trusted
/// certificate (AFM7010): those given with `--trust`, else the machine's root store.
/// </summary>
public sealed class SignaturePolicy
{
    public static SignaturePolicy Optional { get; } = new(false, []);

    public SignaturePolicy(bool required, IReadOnlyList<X509Certificate2> trusted)
    {
        Trusted = trusted;
        Required = required || trusted.Count > 0;
    }

    public bool Required { get; }
    public IReadOnlyList<X509Certificate2> Trusted { get; }

    /// <summary>The largest --trust file read: a PEM bundle of a whole system's roots is a few hundred KB.</summary>
    public const long MaxCertificateFileBytes = 16 << 20;

    /// <summary>Reads each trusted certificate from a PEM (or DER) file; an unreadable one, or one over <see cref="MaxCertificateFileBytes"/>, is AFM7011.</summary>
    public static SignaturePolicy Load(bool required, IEnumerable<string> trustFiles)
    {
        var trusted = new List<X509Certificate2>();
        foreach (var file in trustFiles)
        {
            if (!File.Exists(file)) throw RuntimeCodes.Error(RuntimeCodes.CertificateUnusable, file, $"no certificate file at '{Path.GetFullPath(file)}' (--trust).");
            try
            {
                // Read once, bounded: --trust /dev/zero (or a file of gigabytes) was read until the memory ran out.
                var bytes = Afm.Core.IO.BoundedFile.TryReadAllBytes(file, MaxCertificateFileBytes) ?? throw RuntimeCodes.Error(RuntimeCodes.CertificateUnusable, file,
                    $"'{file}' holds more than {MaxCertificateFileBytes >> 20} MiB; a certificate file (PEM or DER) is a few KB (--trust).");
                var certificates = new X509Certificate2Collection();
                var text = System.Text.Encoding.UTF8.GetString(bytes).TrimStart('\uFEFF'); // as ImportFromPemFile read it: without a byte order mark
                if (text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)) certificates.ImportFromPem(text);
                else certificates.Add(X509CertificateLoader.LoadCertificate(bytes));
                trusted.AddRange(certificates);
            }
            catch (CryptographicException e)
            {
                throw RuntimeCodes.Error(RuntimeCodes.CertificateUnusable, file, $"'{file}' is not an X.509 certificate in PEM or DER ({e.Message}) (--trust).");
            }
        }
        return new SignaturePolicy(required, trusted);
    }

    /// <summary>True if the signer is one of the trusted certificates or chains to one (to the machine's roots when none is given).</summary>
    public bool Trusts(X509Certificate2 signer, X509Certificate2Collection carried)
    {
        if (Trusted.Any(t => t.RawDataMemory.Span.SequenceEqual(signer.RawDataMemory.Span))) return true;
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        // The artifact carries no trusted timestamp, so the time of signing cannot be proven; checking validity at load
        // time instead would make deployed artifacts stop loading the day the certificate expires.
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid;
        chain.ChainPolicy.ExtraStore.AddRange(carried);
        if (Trusted.Count > 0)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(Trusted.ToArray());
        }
        return chain.Build(signer);
    }
}
