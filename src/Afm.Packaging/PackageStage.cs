using Afm.Core.Artifacts;
using Afm.Core.IO;

namespace Afm.Packaging;

/// <summary>What the package stage wrote, for the compiler's progress line.</summary>
/// <param name="LeftOut">The source entries the deploy layout left out (empty with <see cref="PackageInputs.Sources"/>).</param>
public sealed record PackageResult(string Path, long Length, int Entries, IReadOnlyList<string> LeftOut);

/// <summary>
/// The package stage (target AfmPackage, verb <c>package</c>): the stages' folders -> the .afmpkg (specs/artifact.md),
/// written under a temporary name and renamed. Every file on disk is streamed into the zip, none is held in memory,
/// so weights past 2 GB package like small ones (issue #15).
/// </summary>
public static class PackageStage
{
    /// <param name="signManifest">Makes the detached CMS signature of manifest.json's bytes (specs/artifact.md, "Signature");
    /// null for an unsigned artifact. The caller owns the certificate, which it loads before this runs.</param>
    public static PackageResult Run(PackageInputs inputs, string outputPath, Func<byte[], byte[]>? signManifest = null)
    {
        var entries = ArtifactBuilder.Build(inputs, out var leftOut);
        if (signManifest is not null)
            entries[ArtifactLayout.ManifestSignature] = ArtifactEntry.Of(signManifest(ArtifactEntry.BytesOf(entries[ArtifactLayout.Manifest])));
        AtomicOutput.WriteFile(outputPath, stream => DeterministicZip.Write(stream, entries));
        return new PackageResult(System.IO.Path.GetFullPath(outputPath), new FileInfo(outputPath).Length, entries.Count, leftOut);
    }
}
