using Afm.Core.Spec;

namespace Afm.Interchange.HuggingFace;

/// <summary>The Hugging Face layout as a project's BaseModel: what the project reader asks of a checkpoint folder.</summary>
public sealed class HfBaseModelFormat : IBaseModelFormat
{
    public const string FormatName = "huggingface";

    public BaseModelDescription Describe(string folder)
    {
        // Opening checks every tensor's name, dtype and shape against config.json (headers only, no weights are read),
        // so a checkpoint that cannot be imported fails validation, at the BaseModel element, not a later stage.
        using var checkpoint = HfCheckpoint.Open(folder);
        return new BaseModelDescription
        {
            Format = FormatName,
            Architecture = checkpoint.Config.ClassName,
            Spec = checkpoint.Config.Architecture,
            Files = checkpoint.Files,
            BosTokenId = checkpoint.Config.BosTokenId,
            EosTokenIds = checkpoint.Config.EosTokenIds,
        };
    }
}
