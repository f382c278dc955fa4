using System.CommandLine;
using Afm.Core.Artifacts;
using Afm.Cli.Compilation;
using Afm.Cli.Packaging;
using Afm.Packaging;

namespace Afm.Cli.Commands;

/// <summary><c>afm package</c>: assemble the versioned .afmpkg (layout in specs/artifact.md).</summary>
internal static class PackageCommand
{
    public static Command Create()
    {
        var spec = StageOptions.Spec();
        var tokenizer = StageOptions.Tokenizer();
        var data = StageOptions.Data();
        var train = StageOptions.Train();
        var export = new Option<string?>("--export") { Description = "The export folder written by `afm export` (model.onnx); optional." };
        var quantize = new Option<string?>("--quantize") { Description = "The quantize folder written by `afm quantize`; optional (absent or empty: float model only)." };
        var profile = new Option<string?>("--profile") { Description = "The profile folder written by `afm profile --spec`; optional." };
        var adapters = new Option<string?>("--adapters") { Description = "The adapters folder written by `afm adapters`; optional." };
        var onnxAdapters = new Option<string?>("--onnx-adapters") { Description = "The folder written by `afm export-adapters` (.onnx_adapter files); optional." };
        var sources = new Option<bool>("--sources") { Description = "Keep the sources of compiled entries: the float weights beside quantized ones, each adapter.safetensors beside its .onnx_adapter (MSBuild: AfmPackageSources=true)." };
        var signingCertificate = new Option<string?>("--signing-certificate") { Description = "A PEM file with the X.509 certificate (RSA or ECDSA) that signs manifest.json, and its key unless --signing-key is given (MSBuild: AfmSigningCertificate)." };
        var signingKey = new Option<string?>("--signing-key") { Description = "A PEM file with the signing certificate's private key, when it is not in the certificate file (MSBuild: AfmSigningKey)." };
        var evaluate = new Option<string?>("--evaluate") { Description = "The folder written by `afm evaluate` (evaluation report); optional." };
        var output = StageOptions.Out("The .afmpkg file to write.");
        var command = new Command(StageLayout.Package.Name, "Assemble the model artifact with its manifest and reports.") { spec, tokenizer, data, train, export, quantize, output };
        command.Options.Add(profile);
        command.Options.Add(adapters);
        command.Options.Add(onnxAdapters);
        command.Options.Add(sources);
        command.Options.Add(signingCertificate);
        command.Options.Add(signingKey);
        command.Options.Add(evaluate);
        command.SetAction(result => CompilerRun.Guard(() =>
        {
            var model = SpecFile.Load(result.GetValue(spec)!);
            var inputs = new PackageInputs(model, result.GetValue(tokenizer)!, result.GetValue(data)!, result.GetValue(train)!)
            {
                ExportDirectory = result.GetValue(export),
                QuantizeDirectory = result.GetValue(quantize),
                ProfileDirectory = result.GetValue(profile),
                AdaptersDirectory = result.GetValue(adapters),
                OnnxAdaptersDirectory = result.GetValue(onnxAdapters),
                Sources = result.GetValue(sources),
                EvaluateDirectory = result.GetValue(evaluate),
            };
            ChatTemplateCheck.ProjectTemplate(model, inputs.TokenizerDirectory);
            // Loaded before the build so a wrong certificate fails in a second, not after every entry was read.
            var signer = result.GetValue(signingCertificate) is { Length: > 0 } certificate ? SigningIdentity.Load(certificate, result.GetValue(signingKey) is { Length: > 0 } key ? key : null) : null;
            var package = PackageStage.Run(inputs, result.GetValue(output)!, signer is null ? null : signer.SignManifest);
            CompilerOutput.Progress($"package: {package.Path} ({package.Length:N0} bytes, {package.Entries} files{LeftOut(package.LeftOut)}{Signed(signer)})");
            return 0;
        }));
        return command;
    }

    private static string Signed(SigningIdentity? signer) => signer is null ? "" : $"; signed by {signer.Certificate.Subject}";

    private static string LeftOut(IReadOnlyList<string> leftOut) => leftOut.Count == 0 ? ""
        : $"; deploy layout, without {string.Join(", ", leftOut)}: -p:{DeployLayout.SourcesProperty}=true keeps them";
}
