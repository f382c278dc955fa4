using Afm.Core.Diagnostics;

namespace Afm.Evaluation.Tasks;

/// <summary>A multiple-choice question: the context, its choices and the index of the right one.</summary>
public sealed record MultipleChoiceItem(string Context, IReadOnlyList<string> Choices, int Label, SourceLocation Location);

/// <summary>A generation prompt and the text it should produce.</summary>
public sealed record GenerateItem(string Prompt, string Reference, SourceLocation Location);

/// <summary>A document whose bits per byte a perplexity task measures.</summary>
public sealed record TextDocument(string Text, SourceLocation Location);
