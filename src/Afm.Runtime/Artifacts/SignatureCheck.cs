namespace Afm.Runtime.Artifacts;

/// <summary>Applies a <see cref="SignaturePolicy"/> to an artifact's manifest bytes and signature entry; each failure has its own code.</summary>
internal static class SignatureCheck
{
    // A CMS signature with a certificate chain is a few KB; anything far larger is not one of ours.
    private const int SignatureLimit = 1 << 20;

    public static ArtifactSigner? Run(string path, byte[] manifest, ArchiveIndex index, SignaturePolicy policy)
    {
        if (!index.TryGet(ArtifactSignature.EntryName, out var entry))
        {
            if (policy.Required)
                throw RuntimeCodes.Error(RuntimeCodes.ArtifactUnsigned, path,
                    $"the artifact is not signed (no {ArtifactSignature.EntryName}) and a signature is required; refusing to load it.");
            return null;
        }
        var signature = BoundedEntry.ReadAll(entry, SignatureLimit);
        if (signature is null || ArtifactSignature.Verify(manifest, signature) is not var (signer, carried))
            throw RuntimeCodes.Error(RuntimeCodes.SignatureInvalid, path,
                $"the signature ({ArtifactSignature.EntryName}) does not match {VerifiedArtifact.ManifestEntry}: the manifest or the signature was changed after signing; refusing to load it.");
        bool trusted = policy.Trusts(signer, carried);
        if (policy.Required && !trusted)
            throw RuntimeCodes.Error(RuntimeCodes.SignerUntrusted, path,
                $"the artifact is signed by '{signer.Subject}' (SHA-256 {ArtifactSigner.Of(signer, false).Sha256Thumbprint}), which is not a trusted certificate " +
                $"and does not chain to one{(policy.Trusted.Count == 0 ? " in the machine's root store" : " given with --trust")}; refusing to load it.");
        return ArtifactSigner.Of(signer, trusted);
    }
}
