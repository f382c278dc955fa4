namespace Afm.Onnx.Export;

/// <summary>
/// cos/sin tables [length, headDim] for RoPE, computed exactly as Afm.Training's RotaryEmbedding does
/// (float64 angles position * base^(-2i/d), duplicated over both halves, cast to float32 at the end), so the
/// exported graph rotates with the same numbers the trained model saw.
/// </summary>
internal static class RopeTables
{
    public static (float[] Cos, float[] Sin) Build(int length, int headDim, double ropeBase)
    {
        int half = headDim / 2;
        var inverseFrequency = new double[half];
        for (int i = 0; i < half; i++) inverseFrequency[i] = 1.0 / Math.Pow(ropeBase, 2.0 * i / headDim);
        var cos = new float[length * headDim];
        var sin = new float[length * headDim];
        for (int position = 0; position < length; position++)
        {
            for (int i = 0; i < half; i++)
            {
                double angle = position * inverseFrequency[i];
                float c = (float)Math.Cos(angle), s = (float)Math.Sin(angle);
                int row = position * headDim;
                cos[row + i] = cos[row + half + i] = c;
                sin[row + i] = sin[row + half + i] = s;
            }
        }
        return (cos, sin);
    }
}
