namespace Afm.Core.Artifacts;

/// <summary>
/// Where each pipeline stage writes under the build's intermediate folder (<c>obj/&lt;Configuration&gt;/afm/</c>): one
/// class per stage, named like its target (<c>Afm&lt;Stage&gt;</c>), with its verb (<c>Name</c>), its folder and the
/// files other stages, the packager and the SDK read (issue #21). This is the one source: the SDK's
/// <c>sdk/Afm.Sdk/Sdk/Afm.StageLayout.props</c> is generated from it (by Afm.Core.Tests' StageLayoutPropsTests, which
/// fails when the file differs and rewrites it with AFM_WRITE_STAGE_LAYOUT=1), so the targets' Inputs and Outputs and
/// the compiler cannot name a file differently. C# is the source rather than the props file because every reader and
/// writer here uses the names as constants (switch labels, other constants), which a resource read at run time
/// cannot give.
/// </summary>
/// <remarks>
/// The generator's rule: a stage class's <c>Folder</c> becomes <c>_Afm&lt;Stage&gt;Directory</c> under
/// <c>$(AfmIntermediateDirectory)</c>, each other constant <c>X</c> becomes <c>_Afm&lt;Stage&gt;X</c> inside that folder, and
/// every stage's <c>Name</c> gives its fingerprint <c>_Afm&lt;Stage&gt;Fingerprint</c> in <see cref="Spec"/>'s folder.
/// <see cref="Intermediate"/>'s constants <c>X</c> become <c>_AfmX</c> in the intermediate folder itself. A class
/// <c>N</c> nested in a stage's class names the files of each of its subfolders (one per device, per adapter): its
/// constants <c>X</c> become <c>_Afm&lt;Stage&gt;&lt;N&gt;X</c>, the bare file name, for a target's wildcard
/// (<c>$(_AfmAdaptersDirectory)*\$(_AfmAdaptersAdapterWeights)</c>). Constants ending in <c>Suffix</c> are parts of
/// names and are not generated.
/// </remarks>
public static class StageLayout
{
    /// <summary>Files of the build itself, directly in the intermediate folder.</summary>
    public static class Intermediate
    {
        /// <summary>The evaluated project (properties and items) that validation reads, rewritten only on change.</summary>
        public const string ProjectSnapshot = "project.snapshot.json";
        /// <summary>The adapters the adapters stage left, one per line, rewritten only on change: adding or removing one re-runs export-adapters.</summary>
        public const string TrainedAdapters = "export-adapters.inputs";
    }

    /// <summary><c>afm validate</c> (target AfmValidate) writes here: the typed spec and one fingerprint per stage (the part of the spec it depends on).</summary>
    public static class Spec
    {
        public const string Folder = "spec/";
        public const string File = "spec.json";
        /// <summary>Touched by every validation: the target's one Output, since the spec is rewritten only when it changes.</summary>
        public const string ValidateStamp = "validate.stamp";
        /// <summary>The files validation read besides the snapshot (a BaseModel's), one per line: read back into its Inputs.</summary>
        public const string ValidateInputs = "validate.inputs";
        /// <summary>The packaging options (sources, signing), written by the SDK: they are not part of the spec.</summary>
        public const string PackageOptions = "package.options.fingerprint";
        public const string FingerprintSuffix = ".fingerprint.json";

        /// <summary>The fingerprint file of the stage called <paramref name="stage"/> (a stage class's <c>Name</c>).</summary>
        public static string Fingerprint(string stage) => stage + FingerprintSuffix;
    }

    public static class Tokenizer
    {
        public const string Name = "tokenizer";
        public const string Folder = Name + "/";
        /// <summary>The tokenizer's manifest (Afm.Tokenizers' TokenizerManifest); vocab.json and merges.txt lie beside it.</summary>
        public const string Manifest = "tokenizer.json";
    }

    public static class Data
    {
        public const string Name = "data";
        public const string Folder = Name + "/";
        /// <summary>The shards' index (Afm.Data's DataIndex); shards are <c>&lt;training stage&gt;/&lt;split&gt;-NNNNN.bin</c>.</summary>
        public const string Index = "index.json";
        /// <summary>What cleaning removed and packing kept (Afm.Data's DataReport).</summary>
        public const string Report = "report.json";
        public const string ReportMarkdown = "report.md";
    }

    public static class Train
    {
        public const string Name = "train";
        public const string Folder = Name + "/";
        public const string Weights = "model.safetensors";
        public const string Report = "report.json";
        /// <summary>Wall-clock times per training stage: they differ on every run, so they stay out of the report the artifact carries.</summary>
        public const string Timings = "timings.json";
        /// <summary>One folder per training stage, from which a killed build resumes.</summary>
        public const string Checkpoints = "checkpoints/";
    }

    /// <summary>One folder per device (<c>profile/&lt;device&gt;/</c>) with the files below, and the index of them all.</summary>
    public static class Profile
    {
        public const string Name = "profile";
        public const string Folder = Name + "/";
        public const string Index = "profiles.json";

        /// <summary>Inside each device's folder: its profile (Afm.Profiling's ProfileDocument) and its reports.</summary>
        public static class Device
        {
            public const string Profile = "profile.json";
            public const string Table = "profile.md";
            public const string PrefillChart = "profile-prefill.png";
            public const string DecodeChart = "profile-decode.png";
            public const string Page = "profile.html";
        }
    }

    public static class Quantize
    {
        public const string Name = "quantize";
        public const string Folder = Name + "/";
        public const string Weights = "model.safetensors";
        public const string Report = "report.json";
        public const string ReportMarkdown = "report.md";
        public const string Chart = "bits.png";
        /// <summary>Touched when the report passed the quantization baseline (the check's one Output).</summary>
        public const string BaselineStamp = "baseline.stamp";
    }

    /// <summary>One folder per adapter (<c>adapters/&lt;name&gt;/adapter.safetensors</c> and its result) and the report.</summary>
    public static class Adapters
    {
        public const string Name = "adapters";
        public const string Folder = Name + "/";
        public const string Report = "report.json";
        public const string ReportMarkdown = "report.md";

        /// <summary>Inside each adapter's folder.</summary>
        public static class Adapter
        {
            public const string Weights = "adapter.safetensors";
            /// <summary>What training the adapter produced (its losses), which the report gathers; not packaged.</summary>
            public const string Result = "result.json";
        }
    }

    public static class Export
    {
        public const string Name = "export";
        public const string Folder = Name + "/";
        public const string Model = "model.onnx";
    }

    /// <summary><c>&lt;adapter&gt;.onnx_adapter</c> and <c>&lt;adapter&gt;.json</c> per adapter, and their index.</summary>
    public static class ExportAdapters
    {
        public const string Name = "export-adapters";
        public const string Folder = Name + "/";
        public const string Index = "index.json";
    }

    /// <summary>The runtime formats beside the package write outside obj; only their fingerprints live here.</summary>
    public static class ExportHuggingFace
    {
        public const string Name = "export-huggingface";
    }

    public static class ExportGguf
    {
        public const string Name = "export-gguf";
    }

    public static class ExportGenAI
    {
        public const string Name = "export-genai";
    }

    /// <summary><c>afm evaluate</c> (target AfmEvaluate): every EvalTask on every model variant (Afm.Evaluation).</summary>
    public static class Evaluate
    {
        public const string Name = "evaluate";
        public const string Folder = Name + "/";
        public const string Report = "evaluation.json";
        public const string ReportMarkdown = "evaluation.md";
        public const string Chart = "evaluation.png";
        /// <summary>Touched when the report passed the evaluation baseline (the check's one Output).</summary>
        public const string BaselineStamp = "baseline.stamp";
    }

    public static class Package
    {
        public const string Name = "package";
    }
}
