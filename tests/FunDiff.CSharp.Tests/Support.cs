using FunDiff;
using Microsoft.FSharp.Core;

namespace FunDiff.CSharp.Tests;

/// <summary>Assertions on tensors, and the F# transforms called directly as the reference.</summary>
internal static class Support
{
    /// <summary>Asserts shape and values, elementwise within a relative and absolute tolerance.</summary>
    public static void Close(Tensor expected, Tensor actual, double tolerance = 1e-12)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Close(expected.ToArray(), actual, tolerance);
    }

    /// <summary>Asserts the flat values of <paramref name="actual"/>.</summary>
    public static void Close(double[] expected, Tensor actual, double tolerance = 1e-12) =>
        Close(expected, actual.ToArray(), tolerance);

    /// <summary>Asserts two arrays of numbers agree elementwise.</summary>
    public static void Close(double[] expected, double[] actual, double tolerance = 1e-12)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var scale = Math.Max(1.0, Math.Abs(expected[i]));
            Assert.True(
                Math.Abs(expected[i] - actual[i]) <= tolerance * scale,
                $"element {i}: expected {expected[i]:R}, actual {actual[i]:R} "
                + $"(expected [{string.Join(", ", expected)}], actual [{string.Join(", ", actual)}])");
        }
    }

    /// <summary>Asserts one number.</summary>
    public static void Close(double expected, Tensor actual, double tolerance = 1e-12)
    {
        Assert.Empty(actual.Shape);
        Close([expected], actual, tolerance);
    }

    /// <summary>Asserts a tensor is exactly equal (values and shape) to another.</summary>
    public static void Same(Tensor expected, Tensor actual) => Close(expected, actual, 0.0);

    /// <summary>The F# transforms, called with F# functions: the reference for the facade.</summary>
    public static class Reference
    {
        private static FSharpFunc<Tensor, Tensor> Of(Func<Tensor, Tensor> f) => FuncConvert.FromFunc(f);

        public static Tensor Grad(Func<Tensor, Tensor> f, Tensor x) => Diff.grad(Of(f)).Invoke(x);

        public static Tuple<Tensor, Tensor> ValueAndGrad(Func<Tensor, Tensor> f, Tensor x) =>
            Diff.valueAndGrad(Of(f)).Invoke(x);

        public static Tuple<Tensor, Tensor> Jvp(Func<Tensor, Tensor> f, Tensor x, Tensor v) =>
            Diff.jvp(Of(f), x, v);

        public static Tensor Vjp(Func<Tensor, Tensor> f, Tensor x, Tensor u) => Diff.vjp(Of(f), x).Item2.Invoke(u);

        public static Tensor Linearize(Func<Tensor, Tensor> f, Tensor x, Tensor v) =>
            Diff.linearize(Of(f), x).Item2.Invoke(v);

        public static Tensor Jacfwd(Func<Tensor, Tensor> f, Tensor x) => Diff.jacfwd(Of(f)).Invoke(x);

        public static Tensor Jacrev(Func<Tensor, Tensor> f, Tensor x) => Diff.jacrev(Of(f)).Invoke(x);

        public static Tensor Jacobian(Func<Tensor, Tensor> f, Tensor x) => Diff.jacobian(Of(f)).Invoke(x);

        public static Tensor Hessian(Func<Tensor, Tensor> f, Tensor x) => Diff.hessian(Of(f)).Invoke(x);

        public static Tensor Hvp(Func<Tensor, Tensor> f, Tensor x, Tensor v) => Diff.hvp(Of(f), x, v);

        public static Program MakeIR(Func<Tensor, Tensor> f, Tensor x) => Diff.makeIR(Of(f), x);
    }
}
