using Afm.Core.Diagnostics;

namespace Afm.Core.Spec;

/// <summary>multiple-choice: log-likelihood of each choice; generate: greedy text vs a reference; perplexity: bits per byte.</summary>
public enum EvalTaskKind { MultipleChoice, Generate, Perplexity }

/// <summary>
/// One benchmark task the evaluate stage runs (specs/afmproj.md, EvalTask): its files and how their records are read.
/// Field names default to the lm-evaluation-harness style (context/choices/label, prompt/reference, text).
/// </summary>
public sealed record EvalTaskSpec
{
    public const string DefaultContextField = "context", DefaultChoicesField = "choices", DefaultLabelField = "label";
    public const string DefaultPromptField = "prompt", DefaultReferenceField = "reference", DefaultTextField = "text";
    public const int DefaultMaxTokens = 64;

    /// <summary>The task's name in the report and the gate (Name metadata, else the file name without extension).</summary>
    public required string Name { get; init; }
    public required EvalTaskKind Kind { get; init; }
    /// <summary>The task's record files (absolute, sorted). Perplexity: text files (one document each) or JSON lines.</summary>
    public required IReadOnlyList<string> Files { get; init; }
    public string ContextField { get; init; } = DefaultContextField;
    public string ChoicesField { get; init; } = DefaultChoicesField;
    public string LabelField { get; init; } = DefaultLabelField;
    public string PromptField { get; init; } = DefaultPromptField;
    public string ReferenceField { get; init; } = DefaultReferenceField;
    public string TextField { get; init; } = DefaultTextField;
    /// <summary>multiple-choice: examples put before each context, drawn with the project's Seed from <see cref="FewShotData"/>.</summary>
    public int Shots { get; init; }
    public string? FewShotData { get; init; }
    /// <summary>generate: the most tokens generated per prompt; generation also ends at any of <see cref="Stop"/>.</summary>
    public int MaxTokens { get; init; } = DefaultMaxTokens;
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>A feature adapter (by name) evaluated on top of the quantized model for this task, or null.</summary>
    public string? Adapter { get; init; }
    /// <summary>The gate's allowed drop of the task's main metric (absolute), or null for the project's default.</summary>
    public double? Tolerance { get; init; }
    public SourceLocation? Location { get; init; }

    /// <summary>The file-metadata keyword of <see cref="Kind"/>.</summary>
    public string KindName => Kind switch
    {
        EvalTaskKind.MultipleChoice => "multiple-choice",
        EvalTaskKind.Generate => "generate",
        _ => "perplexity",
    };
}
