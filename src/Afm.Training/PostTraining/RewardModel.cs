using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Training.Model;
using Afm.Training.Stages;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Afm.Training.PostTraining;

/// <summary>
/// A reward model: the decoder with a scalar head on the final-normed hidden state of the response's last token (its
/// end-of-document). Weights keep the decoder's names and add <c>reward_head.weight</c> [1, dim] and
/// <c>reward_head.bias</c> [1]; the head starts at zero (every reward 0, no random draw), so a reward stage's start is
/// its incoming decoder exactly.
/// </summary>
public sealed class RewardModel : IDisposable
{
    public const string HeadWeight = "reward_head.weight";
    public const string HeadBias = "reward_head.bias";
    /// <summary>Metadata of a reward model's weights file, beside the decoder's.</summary>
    public const string KindMetadata = "afm_model_kind";

    private readonly Linear head;

    public RewardModel(AfmDecoder decoder)
    {
        Decoder = decoder;
        head = nn.Linear(decoder.Architecture.ModelDim, 1, hasBias: true);
        using var noGrad = no_grad();
        head.weight!.zero_();
        head.bias!.zero_();
    }

    public AfmDecoder Decoder { get; }

    /// <summary>The decoder's parameters, then the head's, by weight name.</summary>
    public IReadOnlyList<(string name, Parameter parameter)> NamedParameters() =>
        [.. Decoder.named_parameters().Select(p => (p.name, p.parameter)), (HeadWeight, head.weight!), (HeadBias, head.bias!)];

    public IReadOnlyDictionary<string, string> Metadata() =>
        new Dictionary<string, string>(DecoderWeightsMetadata.For(Decoder.Architecture, Decoder.RopeBase)) { [KindMetadata] = "reward" };

    /// <summary>Rewards [batch] of sequences [batch, time]: the head on the hidden state at each row's <paramref name="last"/> position [batch].</summary>
    public Tensor Rewards(Tensor inputIds, Tensor last)
    {
        using var scope = NewDisposeScope();
        var hidden = Decoder.Hidden(inputIds);
        var index = last.view(-1, 1, 1).expand(-1, 1, hidden.shape[^1]);
        var atLast = hidden.gather(1, index).squeeze(1);
        return head.forward(atLast).squeeze(-1).MoveToOuterDisposeScope();
    }

    /// <summary>Loads a reward model saved by a reward stage (eval mode, RoPE base from the file).</summary>
    public static RewardModel Load(ArchitectureSpec architecture, string weightsPath)
    {
        var model = new RewardModel(new AfmDecoder(architecture));
        try
        {
            Trainer.LoadParameters(model.NamedParameters(), weightsPath);
            if (Checkpoints.SafeTensors.ReadMetadata(weightsPath).TryGetValue("rope_base", out var ropeBase))
                model.Decoder.RopeBase = double.Parse(ropeBase, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.Decoder.eval();
        return model;
    }

    public void Dispose()
    {
        head.Dispose();
        Decoder.Dispose();
    }
}
