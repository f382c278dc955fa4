namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads the &lt;Teacher&gt; item (at most one): the teacher's project, the weight of its part in the target, what
/// that part is (top-1 or tempered distribution) and whether the student starts from the teacher's pruned weights.
/// Whether the teacher's tokenizer and shapes fit is only known once the teacher is built, so the train stage checks
/// those (AFM31xx).
/// </summary>
internal static class TeacherReader
{
    /// <summary>The AFM report's weight of the teacher's top-1 in the distillation target.</summary>
    public const double DefaultWeight = 0.9;

    private static readonly string[] Known = ["Weight", "Prune", "Distill", "Temperature"];
    private static readonly (Func<double, bool>, string) UnitInterval = (v => v >= 0 && v <= 1, "between 0 and 1");

    public static TeacherSpec? Read(SpecContext context)
    {
        var items = context.Items("Teacher");
        if (items.Count == 0) return null;
        foreach (var extra in items.Skip(1))
            context.Error(DiagnosticCodes.MultipleTeachers, extra.Location,
                $"The project declares {items.Count} teachers, but a student distills from one. Remove this <Teacher> or the one declared first.");
        var item = items[0];
        item.WarnAboutUnknownMetadata(Known);

        var path = item.FullPath;
        var valid = true;
        if (!string.Equals(Path.GetExtension(path), ".afmproj", StringComparison.OrdinalIgnoreCase))
        {
            context.Error(DiagnosticCodes.TeacherNotAProject, item.IncludeLocation,
                $"Teacher '{item.Include}' is not an .afmproj. Point Include at the teacher's model project (Include=\"../teacher/teacher.afmproj\"); the SDK builds it first.");
            valid = false;
        }
        else if (!File.Exists(path))
        {
            context.Error(DiagnosticCodes.TeacherProjectNotFound, item.IncludeLocation,
                $"Teacher '{item.Include}' does not exist (looked for {path}). Fix the path; it is relative to this project's folder.");
            valid = false;
        }
        else if (string.Equals(path, Path.GetFullPath(context.Snapshot.ProjectPath), StringComparison.OrdinalIgnoreCase))
        {
            context.Error(DiagnosticCodes.TeacherIsThisProject, item.IncludeLocation,
                $"Teacher '{item.Include}' is this project itself; a model cannot be distilled from itself. Point it at another .afmproj.");
            valid = false;
        }

        var weight = item.Get("Weight") is { } w ? context.Double(w, UnitInterval) : DefaultWeight;
        var init = context.Choice(item, "Prune", TeacherInit.None, DiagnosticCodes.UnknownTeacherPrune,
            ("ffn", TeacherInit.PruneFfn), ("none", TeacherInit.None));
        var target = context.Choice(item, "Distill", DistillTarget.Top1, DiagnosticCodes.UnknownDistillTarget,
            ("top1", DistillTarget.Top1), ("distribution", DistillTarget.Distribution));
        var temperatureValue = item.Get("Temperature");
        var temperature = temperatureValue is { } t ? context.Double(t, SpecContext.Positive) : 1.0;
        // A temperature on top-1 targets would be silently meaningless: argmax does not change with it.
        if (temperatureValue is { } written && target == DistillTarget.Top1)
        {
            context.Error(DiagnosticCodes.TemperatureWithoutDistribution, written.Location,
                $"{written.What} only softens the teacher's distribution, but this Teacher distills its top-1, which no temperature changes. " +
                "Add Distill=\"distribution\" or remove Temperature.");
            temperature = null;
        }
        if (!valid || weight is null || init is null || target is null || temperature is null) return null;
        return new TeacherSpec
        {
            ProjectPath = path,
            Weight = weight.Value,
            Init = init.Value,
            Distill = target.Value,
            Temperature = temperature.Value,
            Location = item.Location,
            InitLocation = item.Get("Prune")?.Location ?? item.Location,
        };
    }
}
