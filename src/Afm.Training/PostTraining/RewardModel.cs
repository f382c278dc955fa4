using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Training.Model;
using Afm.Training.Stages;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Afm.Training.PostTraining;

/// <summary>
/// A reward model: the decoder with a scalar head on its final-normed hidden states, read as the stage's
/// <see cref="RewardReadout"/> says (specs/post-training.md): at the response's end-of-document (last), averaged over the
/// response's tokens (mean), or at the end-of-document plus a learned multiple of the response's mean token
/// log-likelihood under the decoder itself (likelihood). Weights keep the decoder's names and add
/// <c>reward_head.weight</c> [1, dim] and <c>reward_head.bias</c> [1] (and <c>reward_head.likelihood_scale</c> [1] for the
/// likelihood readout); the head starts at zero and the scale at 1, with no random draw, so a reward stage starts from its
/// incoming decoder exactly: every reward 0, or the decoder's own likelihood.
/// </summary>
public sealed class RewardModel : IDisposable
{
    public const string HeadWeight = "reward_head.weight";
    public const string HeadBias = "reward_head.bias";
    public const string LikelihoodScale = "reward_head.likelihood_scale";
    /// <summary>Metadata of a reward model's weights file, beside the decoder's.</summary>
    public const string KindMetadata = "afm_model_kind";
    /// <summary>The readout, by its .afmproj name; a file without it was written before readouts existed: last.</summary>
    public const string ReadoutMetadata = "afm_reward_readout";

    private readonly Linear head;
    private readonly Parameter? likelihoodScale;

    public RewardModel(AfmDecoder decoder, RewardReadout readout = RewardReadout.Last)
    {
        Decoder = decoder;
        Readout = readout;
        head = nn.Linear(decoder.Architecture.ModelDim, 1, hasBias: true);
        using var noGrad = no_grad();
        head.weight!.zero_();
        head.bias!.zero_();
        if (readout == RewardReadout.Likelihood) likelihoodScale = nn.Parameter(ones(1));
    }

    public AfmDecoder Decoder { get; }
    public RewardReadout Readout { get; }

    /// <summary>The decoder's parameters, then the head's, by weight name.</summary>
    public IReadOnlyList<(string name, Parameter parameter)> NamedParameters() =>
    [
        .. Decoder.named_parameters().Select(p => (p.name, p.parameter)), (HeadWeight, head.weight!), (HeadBias, head.bias!),
        .. likelihoodScale is null ? [] : new[] { (LikelihoodScale, likelihoodScale) },
    ];

    public IReadOnlyDictionary<string, string> Metadata()
    {
        var metadata = new Dictionary<string, string>(DecoderWeightsMetadata.For(Decoder.Architecture, Decoder.RopeBase)) { [KindMetadata] = "reward" };
        // Written only when it is not the default, so a last-readout reward model's bytes are what they were.
        if (Readout != RewardReadout.Last) metadata[ReadoutMetadata] = RewardReadouts.Name(Readout);
        return metadata;
    }

    /// <summary>
    /// Rewards [batch] of sequences [batch, time]: <paramref name="responseMask"/> [batch, time] is 1 where the input token
    /// is the response's (its tokens and its end-of-document, the row's last marked position) and 0 elsewhere.
    /// </summary>
    public Tensor Rewards(Tensor inputIds, Tensor responseMask)
    {
        using var scope = NewDisposeScope();
        var hidden = Decoder.Hidden(inputIds);
        var mask = responseMask.to_type(ScalarType.Float32);
        var last = (mask * arange(mask.shape[1], ScalarType.Float32)).argmax(1);
        var atLast = hidden.gather(1, last.view(-1, 1, 1).expand(-1, 1, hidden.shape[^1])).squeeze(1);
        var reward = Readout switch
        {
            RewardReadout.Mean => head.forward((hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim: true).clamp_min(1)).squeeze(-1),
            RewardReadout.Likelihood => head.forward(atLast).squeeze(-1) + likelihoodScale! * MeanLogLikelihood(hidden, inputIds, mask),
            _ => head.forward(atLast).squeeze(-1),
        };
        return reward.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// (1/|y|) Σ_t log π(y_t | x, y_&lt;t) of each row's response under the decoder: position t - 1's output predicts the
    /// token at t, for every marked t (the first response token is predicted from the prompt's last).
    /// </summary>
    private Tensor MeanLogLikelihood(Tensor hidden, Tensor inputIds, Tensor mask)
    {
        long time = inputIds.shape[1];
        var logProbs = nn.functional.log_softmax(nn.functional.linear(hidden.narrow(1, 0, time - 1), Decoder.OutputWeight), -1);
        var targets = logProbs.gather(2, inputIds.narrow(1, 1, time - 1).unsqueeze(2)).squeeze(2);
        var targetMask = mask.narrow(1, 1, time - 1);
        return (targets * targetMask).sum(1) / targetMask.sum(1).clamp_min(1);
    }

    /// <summary>Loads a reward model saved by a reward stage (eval mode, RoPE base and readout from the file).</summary>
    public static RewardModel Load(ArchitectureSpec architecture, string weightsPath)
    {
        var metadata = Checkpoints.SafeTensors.ReadMetadata(weightsPath);
        var readout = metadata.TryGetValue(ReadoutMetadata, out var name)
            ? RewardReadouts.Parse(name) ?? throw new InvalidDataException($"{weightsPath}: unknown reward readout '{name}'.")
            : RewardReadout.Last;
        var model = new RewardModel(new AfmDecoder(architecture), readout);
        try
        {
            Trainer.LoadParameters(model.NamedParameters(), weightsPath);
            if (metadata.TryGetValue("rope_base", out var ropeBase))
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
        likelihoodScale?.Dispose();
        Decoder.Dispose();
    }
}
