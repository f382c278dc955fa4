using System.CommandLine;
using Afm.Runtime.Artifacts;

namespace Afm.Cli.Commands;

/// <summary>`--require-signature` and `--trust`, shared by every verb that opens an artifact (run, serve, verify).</summary>
internal sealed class TrustOptions
{
    private readonly Option<bool> requireSignature = new("--require-signature")
    {
        Description = "Refuse an unsigned artifact, or one whose signer is not trusted (--trust, else the machine's root certificates).",
    };

    private readonly Option<string[]> trust = new("--trust")
    {
        Description = "A PEM certificate to trust as signer or root of the signer's chain (repeatable; implies --require-signature).",
        AllowMultipleArgumentsPerToken = false,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(requireSignature);
        command.Options.Add(trust);
    }

    public SignaturePolicy Policy(ParseResult result) =>
        SignaturePolicy.Load(result.GetValue(requireSignature), result.GetValue(trust) ?? []);
}
