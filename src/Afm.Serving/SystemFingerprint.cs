using Afm.Runtime;

namespace Afm.Serving;

/// <summary>
/// The <c>system_fingerprint</c> of every completion: <c>fp_</c> and the first 12 hex digits of the SHA-256 of the
/// artifact's manifest.json, which lists the SHA-256 of every file the model runs from. Two servers answer with the same
/// fingerprint exactly when they serve the same bytes, so a client can tell when a changed answer comes from a changed model
/// (what the OpenAI API's fingerprint is for).
/// </summary>
internal static class SystemFingerprint
{
    public static string Of(AfmModel model) => "fp_" + model.ManifestSha256[..12];
}
