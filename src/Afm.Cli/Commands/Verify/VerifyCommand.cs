using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Runtime.Artifacts;

namespace Afm.Cli.Commands.Verify;

/// <summary>
/// <c>afm verify &lt;artifact.afmpkg&gt; [--trust cert.pem]</c>: the checks `afm run` makes before loading (entry names, sizes,
/// SHA-256 of every file, the signature over manifest.json), then who signed it and what it was built from. Any
/// failure is the same AFM7xxx diagnostic `afm run` would give, and exit code 1.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var artifact = new Argument<string>("artifact") { Description = "The .afmpkg to verify." };
        var command = new Command("verify", "Check an artifact's files, signature and provenance, and print its signer.") { artifact };
        var trust = new TrustOptions();
        trust.AddTo(command);
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            using var verified = VerifiedArtifact.Open(result.GetValue(artifact)!, trust.Policy(result));
            var manifest = verified.Manifest;
            Console.WriteLine($"{verified.Path}: verified: {manifest.Files.Count} files match manifest.json ({manifest.Name} {manifest.Version}, toolchain {manifest.Toolchain.Version})");
            Console.WriteLine(verified.Signer is { } signer
                ? $"signer: {signer.Subject} (SHA-256 {signer.Sha256Thumbprint}, {signer.KeyAlgorithm}), {(signer.Trusted ? "trusted" : "not trusted: give its certificate with --trust to require it")}"
                : "signer: none (unsigned artifact)");
            Console.WriteLine(ProvenanceSummary.Describe(verified.Directory));
            return 0;
        }));
        return command;
    }
}
