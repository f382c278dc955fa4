/// <summary>
/// SqueezeLLM's dense-and-sparse decomposition: a small fraction of the weights is kept exactly (fp16) in a sparse
/// list and left out of the k-means fit, so the palette spends its entries on the bulk of the distribution.
/// Half of the kept weights are the largest deviations from the tensor's median (range outliers that stretch a
/// palette), the other half the largest importance (the most sensitive weights), as SqueezeLLM does.
/// Bench-only for now: the plan, quantized.safetensors and the ONNX lowering do not have a sparse part yet.
/// Each kept weight costs <see cref="BytesPerEntry"/> bytes: an int32 row-major position and an fp16 value.
/// </summary>
internal static class DenseAndSparse
{
    public const int BytesPerEntry = 6;

    /// <summary>Ascending row-major positions of the kept weights (deterministic: ties broken by position).</summary>
    public static int[] Select(ReadOnlySpan<float> values, ReadOnlySpan<float> importance, double fraction)
    {
        int count = (int)Math.Round(values.Length * fraction);
        if (count <= 0) return [];
        var w = values.ToArray();
        var sorted = values.ToArray();
        Array.Sort(sorted);
        double median = sorted[sorted.Length / 2];
        var chosen = new HashSet<int>();
        int byRange = importance.IsEmpty ? count : (count + 1) / 2;
        foreach (int i in Top(w.Length, i => Math.Abs(w[i] - median), byRange)) chosen.Add(i);
        if (!importance.IsEmpty)
        {
            var imp = importance.ToArray();
            foreach (int i in Top(values.Length, i => imp[i], values.Length))
            {
                if (chosen.Count >= count) break;
                chosen.Add(i);
            }
        }
        var result = chosen.ToArray();
        Array.Sort(result);
        return result;
    }

    /// <summary>fp16-rounded values of the kept weights.</summary>
    public static float[] Values(ReadOnlySpan<float> values, int[] positions)
    {
        var result = new float[positions.Length];
        for (int i = 0; i < positions.Length; i++) result[i] = (float)(Half)values[positions[i]];
        return result;
    }

    /// <summary>Importance with the kept weights at zero, so k-means ignores them (all ones when there is no importance).</summary>
    public static float[] Exclude(int length, ReadOnlySpan<float> importance, int[] positions)
    {
        var result = importance.IsEmpty ? Enumerable.Repeat(1f, length).ToArray() : importance.ToArray();
        foreach (int p in positions) result[p] = 0;
        return result;
    }

    /// <summary>Writes the kept weights over a dequantized tensor.</summary>
    public static void Apply(float[] dense, int[] positions, float[] kept)
    {
        for (int i = 0; i < positions.Length; i++) dense[positions[i]] = kept[i];
    }

    private static IEnumerable<int> Top(int n, Func<int, double> score, int count)
    {
        var scores = new double[n];
        for (int i = 0; i < n; i++) scores[i] = score(i);
        return Enumerable.Range(0, n).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(count);
    }
}
