using TorchSharp;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

/// <summary>The native fix (build/TorchSharpNativeFix.targets) lets TorchSharp run on this host.</summary>
public sealed class NativeLoadingSpecs
{
    [Fact]
    public void Torch_runs_a_matmul_in_a_project_that_references_Afm_Training()
    {
        using var scope = NewDisposeScope();
        var product = ones(2, 2).matmul(ones(2, 2));
        Assert.Equal(new float[] { 2, 2, 2, 2 }, product.data<float>().ToArray());
    }
}
