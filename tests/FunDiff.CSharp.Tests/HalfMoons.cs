using FunDiff;

namespace FunDiff.CSharp.Tests;

/// <summary>
/// Synthetic classification data for the training tests (public: the README test's script uses
/// it too): two interleaved half-moons in 2-D with uniform noise, from a fixed seed.
/// </summary>
public static class HalfMoons
{
    /// <summary>
    /// <paramref name="n"/> points (alternately of class 0 and 1) as an <c>[n, 2]</c> tensor, their
    /// one-hot targets <c>[n, 2]</c> and their int64 labels <c>[n]</c>.
    /// </summary>
    public static (Tensor X, Tensor Y, Tensor Labels) Data(Random random, int n = 200, double noise = 0.1)
    {
        var points = new double[n * 2];
        for (var i = 0; i < n; i++)
        {
            var angle = Math.PI * random.NextDouble();
            var (px, py) = i % 2 == 0 ? (Math.Cos(angle), Math.Sin(angle)) : (1 - Math.Cos(angle), 0.5 - Math.Sin(angle));
            points[2 * i] = px + noise * (2 * random.NextDouble() - 1);
            points[2 * i + 1] = py + noise * (2 * random.NextDouble() - 1);
        }

        var labels = Tensor.OfArray(Enumerable.Range(0, n).Select(i => (double)(i % 2)).ToArray()).Convert(DType.Int64);
        return (Tensor.OfArray(points).Reshape(n, 2), labels.OneHot(2), labels);
    }

    /// <summary>A tensor of the given shape, uniform in [low, high).</summary>
    public static Tensor Uniform(Random random, double low, double high, params int[] shape) =>
        Tensor.OfArray(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b))
            .Select(_ => low + (high - low) * random.NextDouble()).ToArray()).Reshape(shape);
}
