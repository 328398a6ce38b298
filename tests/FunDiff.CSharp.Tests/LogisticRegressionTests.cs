using FunDiff;
using static FunDiff.Fn;
using static FunDiff.CSharp.Tests.Support;

namespace FunDiff.CSharp.Tests;

/// <summary>
/// Logistic regression written in C#: its gradient is the hand-derived Xᵀ(σ(Xw) − y) / n, and
/// gradient descent with it lowers the loss.
/// </summary>
public class LogisticRegressionTests
{
    private static readonly double[,] Features =
    {
        { 1.0, 2.0, 0.5 }, { -1.0, 0.5, 1.0 }, { 2.0, -1.0, -0.5 }, { -2.0, -1.5, 0.0 }, { 0.3, 0.8, -1.2 },
    };

    private static readonly double[] Labels = [1.0, 0.0, 1.0, 0.0, 1.0];

    /// <summary>The mean binary cross-entropy of σ(X·w) against the labels.</summary>
    private static Tensor Loss(Tensor w)
    {
        var x = Tensor.FromArray(Features);
        var y = Tensor.OfArray(Labels);
        var p = x.MatMul(w).Sigmoid();
        return -(y * p.Log() + (1.0 - y) * (1.0 - p).Log()).Mean();
    }

    /// <summary>∂L/∂w = Xᵀ(σ(Xw) − y) / n, with loops over plain doubles.</summary>
    private static double[] HandDerivedGradient(double[] w)
    {
        int n = Features.GetLength(0), d = Features.GetLength(1);
        var g = new double[d];
        for (var i = 0; i < n; i++)
        {
            var z = 0.0;
            for (var j = 0; j < d; j++)
                z += Features[i, j] * w[j];
            var residual = 1.0 / (1.0 + Math.Exp(-z)) - Labels[i];
            for (var j = 0; j < d; j++)
                g[j] += Features[i, j] * residual / n;
        }

        return g;
    }

    [Theory]
    [InlineData(0.0, 0.0, 0.0)]
    [InlineData(0.1, -0.2, 0.3)]
    [InlineData(-1.5, 2.0, 0.7)]
    public void The_gradient_is_the_hand_derived_one(double w0, double w1, double w2)
    {
        double[] w = [w0, w1, w2];
        Close(HandDerivedGradient(w), Grad(Loss)(Tensor.OfArray(w)), 1e-13);
        Close(HandDerivedGradient(w), Gradient(Loss, w), 1e-13);
    }

    [Fact]
    public void Gradient_descent_lowers_the_loss()
    {
        var valueAndGrad = ValueAndGrad(Loss);
        var w = Tensor.Zeros(3);
        var first = (double)Loss(w);
        var previous = first;
        for (var step = 0; step < 50; step++)
        {
            var (loss, gradient) = valueAndGrad(w);
            Assert.True((double)loss <= previous + 1e-15, $"step {step}: loss rose from {previous} to {(double)loss}");
            previous = (double)loss;
            w -= 0.5 * gradient;
        }

        Assert.True(previous < 0.5 * first, $"loss went from {first} only to {previous}");
    }
}
