using System.Diagnostics;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

/// <summary>The native fix (build/TorchSharpNativeFix.targets) lets TorchSharp run on this host.</summary>
public sealed class NativeLoadingSpecs
{
    private const string Bridge = "runtimes/linux-x64/native/libLibTorchSharp.so";

    [Fact]
    public void Torch_runs_a_matmul_in_a_project_that_references_Afm_Training()
    {
        using var scope = NewDisposeScope();
        var product = ones(2, 2).matmul(ones(2, 2));
        Assert.Equal(new float[] { 2, 2, 2, 2 }, product.data<float>().ToArray());
    }

    [Fact]
    public void Only_the_output_copy_of_the_native_bridge_is_patched_and_only_when_the_host_needs_it()
    {
        string output = Path.Combine(AppContext.BaseDirectory, Bridge);
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string cached = Path.Combine(packages, "torchsharp", "0.107.0", Bridge);
        bool? hostNeedsPatch = HostLacksGlibcxx3432();
        if (!OperatingSystem.IsLinux() || !File.Exists(cached) || hostNeedsPatch is null) return; // nothing to compare here

        Assert.Equal(hostNeedsPatch.Value ? "WEAK" : "none", VernauxFlags(output));
        Assert.Equal("none", VernauxFlags(cached));
    }

    /// <summary>Whether the host libstdc++ lacks the version (from its version definitions), or null without readelf.</summary>
    private static bool? HostLacksGlibcxx3432()
    {
        const string lib = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        string? dump = File.Exists(lib) ? ReadElf("-V", lib) : null;
        if (dump is null) return null;
        int needs = dump.IndexOf("Version needs", StringComparison.Ordinal);
        string definitions = needs < 0 ? dump : dump[..needs];
        return !definitions.Contains("GLIBCXX_3.4.32", StringComparison.Ordinal);
    }

    private static string VernauxFlags(string library)
    {
        string dump = ReadElf("-V", library) ?? "";
        string line = dump.Split('\n').Single(l => l.Contains("Name: GLIBCXX_3.4.32", StringComparison.Ordinal));
        return line.Split("Flags:")[1].Trim().Split(' ')[0];
    }

    private static string? ReadElf(string options, string file)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("readelf", $"{options} \"{file}\"") { RedirectStandardOutput = true, UseShellExecute = false });
            string text = process!.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? text : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no binutils on this machine
        }
    }
}
