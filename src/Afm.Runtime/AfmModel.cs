using Afm.Core.Artifacts;
using Afm.Tokenizers;
using Afm.Runtime.Adapters;
using Afm.Runtime.Artifacts;
using Afm.Runtime.Generation;
using Afm.Runtime.Sessions;

namespace Afm.Runtime;

/// <summary>
/// A packaged model ready to generate: the verified artifact, its tokenizer and one ONNX Runtime session.
/// Loading refuses an artifact whose files do not match their manifest hashes (AFM7002) before ORT sees it.
/// </summary>
public sealed class AfmModel : IDisposable
{
    private readonly VerifiedArtifact artifact;
    private readonly DecoderSession session;

    private AfmModel(VerifiedArtifact artifact, DecoderSession session, AfmTokenizer tokenizer, AdapterSet adapters)
    {
        EndIds = EndOfSequenceIds.FromSpec(System.IO.Path.Combine(artifact.Directory, ArtifactLayout.Spec));
        this.artifact = artifact;
        this.session = session;
        Tokenizer = tokenizer;
        Adapters = adapters;
        Generator = new TextGenerator(session, tokenizer, adapters, endIds: EndIds);
    }

    public Manifest Manifest => artifact.Manifest;
    /// <summary>SHA-256 of the artifact's manifest.json (which lists every file's SHA-256): the same exactly when the bytes served are.</summary>
    public string ManifestSha256 => artifact.ManifestSha256;
    /// <summary>The verified, extracted files of the artifact (deleted on dispose).</summary>
    public string ArtifactDirectory => artifact.Directory;
    /// <summary>
    /// When the artifact file was written, as its file system says (Unix seconds): the server's <c>created</c>. The
    /// artifact holds no time of its own (two builds of the same inputs give the same bytes), so this is the one honest
    /// date there is; a copy that does not keep modification times moves it.
    /// </summary>
    public long WrittenUnixSeconds { get; private init; }
    /// <summary>"name" as the server's /v1/models lists it.</summary>
    public string Id => artifact.Manifest.Name;
    public AfmTokenizer Tokenizer { get; }
    /// <summary>The ids besides end-of-document that end a generation: the BaseModel's eos ids from spec.json.</summary>
    public IReadOnlyList<int> EndIds { get; }
    public TextGenerator Generator { get; }
    public DecoderSession Session => session;
    /// <summary>The artifact's adapters, loaded once; a generation activates one by name (GenerationOptions.Adapter).</summary>
    public AdapterSet Adapters { get; }

    /// <param name="signature">What the artifact's signature must be (default: optional, but valid if present).</param>
    public static AfmModel Load(string artifactPath, RuntimeOptions? options = null, SignaturePolicy? signature = null)
    {
        var artifact = VerifiedArtifact.Open(artifactPath, signature ?? SignaturePolicy.Optional);
        DecoderSession? session = null;
        try
        {
            session = new DecoderSession(artifact.OnnxModelPath, options ?? new RuntimeOptions());
            var adapters = AdapterSet.Load(artifact.Directory, session.BaseSha256, session.GraphInputs);
            return new AfmModel(artifact, session, AfmTokenizer.Load(artifact.TokenizerDirectory), adapters)
            {
                WrittenUnixSeconds = new DateTimeOffset(File.GetLastWriteTimeUtc(artifactPath)).ToUnixTimeSeconds(),
            };
        }
        catch
        {
            session?.Dispose();
            artifact.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        session.Dispose();
        Adapters.Dispose();
        artifact.Dispose();
    }
}
