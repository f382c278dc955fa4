using Afm.Core.IO;
using Afm.Core.Spec;

namespace Afm.Interchange.GenAI;

/// <summary>
/// The folder ONNX Runtime GenAI loads (<c>new Model(folder)</c>): genai_config.json, the decoder graph as
/// <see cref="ModelFileName"/>, the tokenizer files it reads (Hugging Face tokenizer.json and tokenizer_config.json,
/// given by the caller) and each adapter as <c>&lt;name&gt;.onnx_adapter</c> (ONNX Runtime's adapter format, which
/// GenAI's <c>Adapters.LoadAdapter</c> takes). Written whole under a temporary name and renamed.
/// </summary>
public static class GenAIFolder
{
    public const string ModelFileName = "model.onnx";
    public static string AdapterFileName(string adapterName) => adapterName + Afm.Onnx.Adapters.OnnxAdapterFormat.Extension;

    /// <param name="onnxModel">The export stage's graph (specs/onnx-export.md), as it is.</param>
    /// <param name="writeTokenizer">Writes the tokenizer files into the folder it is given (the folder being built).</param>
    /// <param name="adapters">Adapter name -> its .onnx_adapter bytes.</param>
    public static void Write(string folder, ArchitectureSpec spec, GenAITokenIds ids, byte[] onnxModel,
        Action<string> writeTokenizer, IReadOnlyDictionary<string, byte[]> adapters, string? onnxExternalData = null)
    {
        var config = GenAIConfig.Write(spec, ids, ModelFileName);
        AtomicOutput.ReplaceDirectory(folder, temp =>
        {
            File.WriteAllBytes(Path.Combine(temp, GenAIConfig.FileName), config);
            File.WriteAllBytes(Path.Combine(temp, ModelFileName), onnxModel);
            // A large model's initializers (ONNX external data), found by ORT beside the graph under the name the graph gives.
            if (onnxExternalData is not null) File.Copy(onnxExternalData, Path.Combine(temp, Path.GetFileName(onnxExternalData)));
            writeTokenizer(temp);
            foreach (var (name, bytes) in adapters) File.WriteAllBytes(Path.Combine(temp, AdapterFileName(name)), bytes);
        });
    }
}
