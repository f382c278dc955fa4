using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>&lt;DeviceProfile&gt; items: built-in names, BasedOn, units and ranges (specs/profiling.md, AFM50xx).</summary>
public sealed class DeviceProfileDiagnosticsTests
{
    private static TestProject WithDevices(string devices) =>
        TestProject.With("<EvalSet Include=\"data/eval/*.txt\" />", "<EvalSet Include=\"data/eval/*.txt\" />\n    " + devices);

    [Fact]
    public void A_built_in_device_without_metadata_takes_the_built_in_numbers()
    {
        using var project = WithDevices("<DeviceProfile Include=\"phone-npu\" />");
        var result = project.Read();
        Assert.True(result.Succeeded, string.Join("\n", result.Diagnostics));
        var device = Assert.Single(result.Spec!.Devices);
        Assert.Equal(BuiltInDeviceProfiles.PhoneNpu with { Location = device.Location }, device);
        Assert.DoesNotContain(result.Diagnostics, d => d.Code == "AFM1501");
    }

    [Fact]
    public void BasedOn_overrides_only_the_numbers_written()
    {
        using var project = WithDevices("<DeviceProfile Include=\"my-phone\" BasedOn=\"phone-npu\" MemoryBandwidthGBps=\"68.3\" />");
        var device = Assert.Single(project.Read().Spec!.Devices);
        Assert.Equal(68.3, device.MemoryBandwidthGBps);
        Assert.Equal(BuiltInDeviceProfiles.PhoneNpu.Fp16GFlops, device.Fp16GFlops);
        Assert.Equal("my-phone", device.Name);
    }

    [Fact]
    public void Negative_bandwidth_is_AFM5004_at_the_attribute()
    {
        using var project = WithDevices("<DeviceProfile Include=\"phone-npu\" MemoryBandwidthGBps=\"-5\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM5004", project.Locate("MemoryBandwidthGBps="));
    }

    [Fact]
    public void Negative_attention_rate_is_AFM5004_at_the_attribute()
    {
        using var project = WithDevices("<DeviceProfile Include=\"laptop-cpu\" AttentionGFlops=\"-1\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM5004", project.Locate("AttentionGFlops="));
    }

    [Fact]
    public void A_custom_device_without_its_numbers_is_AFM5001()
    {
        using var project = WithDevices("<DeviceProfile Include=\"watch\" MemoryBandwidthGBps=\"10\" />");
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM5001", project.Locate("<DeviceProfile"));
        Assert.Contains("LaunchOverheadUs", error.Message);
    }

    [Fact]
    public void BasedOn_an_unknown_device_is_AFM5003()
    {
        using var project = WithDevices("<DeviceProfile Include=\"watch\" BasedOn=\"toaster\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM5003", project.Locate("BasedOn="));
    }

    [Fact]
    public void A_device_declared_twice_is_AFM5002()
    {
        using var project = WithDevices("<DeviceProfile Include=\"host\" /><DeviceProfile Include=\"HOST\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM5002", project.Locate("Include=\"HOST\""));
    }

    [Fact]
    public void A_bandwidth_written_in_bytes_per_second_is_warning_AFM5005_and_still_builds()
    {
        using var project = WithDevices("<DeviceProfile Include=\"phone-npu\" MemoryBandwidthGBps=\"51200000000\" />");
        var result = project.Read();
        Assert.True(result.Succeeded);
        Assert.Contains(result.Diagnostics, d => d.Code == "AFM5005" && !d.IsError && d.Location == project.Locate("MemoryBandwidthGBps="));
    }

    [Fact]
    public void Computing_in_a_type_the_device_lacks_is_AFM5006()
    {
        using var project = WithDevices("<DeviceProfile Include=\"phone-npu\" ComputeType=\"fp32\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM5006", project.Locate("ComputeType="));
    }

    [Fact]
    public void A_plan_naming_an_undeclared_device_is_AFM4008()
    {
        using var project = WithDevices("<DeviceProfile Include=\"host\" /><QuantizationPlan Include=\"device\" Device=\"phone-npu\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM4008", project.Locate("Device=\"phone-npu\""));
    }

    [Theory]
    [InlineData("ContextTokens")]
    [InlineData("PromptTokens")]
    public void A_workload_longer_than_MaxSequenceLength_is_AFM5101_at_its_attribute_before_training(string name)
    {
        // The longest stage (1024 tokens) sets MaxSequenceLength.
        using var project = WithDevices($"<DeviceProfile Include=\"phone-npu\" {name}=\"4096\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM5101", project.Locate($"{name}="));
    }
}
