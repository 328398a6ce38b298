using FunDiff;
using static FunDiff.Fn;
using static FunDiff.CSharp.Tests.Support;

namespace FunDiff.CSharp.Tests;

/// <summary>
/// <see cref="Tensor"/> reads natively from C#: operators with <c>double</c> on either side,
/// conversions, construction, PascalCase methods, the indexer and ranges, shapes as <c>int[]</c>.
/// </summary>
public class TensorSurfaceTests
{
    private static readonly Tensor X = Tensor.Of(1.0, 2.0, 4.0);

    [Fact]
    public void Operators_take_a_double_on_either_side()
    {
        Close([3.0, 4.0, 6.0], X + 2.0);
        Close([3.0, 4.0, 6.0], 2.0 + X);
        Close([0.0, 1.0, 3.0], X - 1);
        Close([0.0, -1.0, -3.0], 1 - X);
        Close([2.0, 4.0, 8.0], 2 * X);
        Close([2.0, 4.0, 8.0], X * 2.0);
        Close([0.5, 1.0, 2.0], X / 2);
        Close([4.0, 2.0, 1.0], 4.0 / X);
        Close([-1.0, -2.0, -4.0], -X);
        Close([2.0, 4.0, 8.0], X + X);
        var y = X;
        y *= 3.0;
        Close([3.0, 6.0, 12.0], y);
    }

    [Fact]
    public void A_double_converts_implicitly_and_a_scalar_explicitly_back()
    {
        Tensor t = 3.0;
        Assert.Empty(t.Shape);
        Assert.Equal(3.0, (double)t);
        Assert.Equal(3.0, t.ToScalar());
        Assert.Equal(2.5, (double)Tensor.Of(2.5)); // one element of any rank
        Assert.Equal(6.0, (double)Grad(x => x * x)(3.0));
    }

    [Fact]
    public void Construction()
    {
        Assert.Equal([3], Tensor.Of(1.0, 2.0, 3.0).Shape);
        var m = Tensor.FromArray(new[,] { { 1.0, 2.0, 3.0 }, { 4.0, 5.0, 6.0 } });
        Assert.Equal([2, 3], m.Shape);
        Assert.Equal([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], m.ToArray());
        Close(new double[6], Tensor.Zeros(2, 3));
        Assert.Equal([2, 3], Tensor.Zeros(2, 3).Shape);
        Close([1.0, 1.0], Tensor.Ones(2));
        Close([1.0, 0.0, 0.0, 1.0], Tensor.Eye(2));
        Close([0.0, 1.0, 2.0, 3.0], Tensor.Arange(4));
        Close([0.0, 0.25, 0.5, 0.75, 1.0], Tensor.Linspace(0.0, 1.0, 5));
        Close(2.5, Tensor.Scalar(2.5));
        Close([1.0, 2.0], Tensor.OfArray([1.0, 2.0]));
    }

    [Fact]
    public void Elementwise_methods()
    {
        Close(X.ToArray().Select(Math.Sin).ToArray(), X.Sin());
        Close(X.ToArray().Select(Math.Exp).ToArray(), X.Exp());
        Close(X.ToArray().Select(v => Math.Log(v)).ToArray(), X.Log());
        Close([1.0, 4.0, 16.0], X.Pow(2));
        Close([1.0, Math.Sqrt(2.0), 2.0], X.Pow(0.5));
        Close([1.0, 4.0, 256.0], X.Pow(X));
        Close([1.0, 4.0, 16.0], X.Square());
        Close([0.5, 0.5], Tensor.Zeros(2).Sigmoid());
    }

    [Fact]
    public void Reductions_with_and_without_an_axis()
    {
        var m = Tensor.FromArray(new[,] { { 1.0, 2.0, 3.0 }, { 4.0, 5.0, 6.0 } });
        Close(21.0, m.Sum());
        Close([5.0, 7.0, 9.0], m.Sum(0));
        Close([6.0, 15.0], m.Sum(-1));
        Close(3.5, m.Mean());
        Close([2.0, 5.0], m.Mean(1));
        Close(6.0, m.Max());
        Close([3.0, 6.0], m.Max(1));
    }

    [Fact]
    public void MatMul_of_a_matrix_and_a_vector_is_a_vector_and_Dot_of_vectors_a_scalar()
    {
        var m = Tensor.FromArray(new[,] { { 1.0, 2.0, 3.0 }, { 4.0, 5.0, 6.0 } });
        var product = m.MatMul(X);
        Assert.Equal([2], product.Shape);
        Close([17.0, 38.0], product);
        Close(21.0, X.Dot(X));
        Assert.Equal([2, 2], m.MatMul(m.T).Shape);
    }

    [Fact]
    public void Shapes_Reshape_and_T()
    {
        var m = Tensor.Arange(6).Reshape(2, 3);
        Assert.Equal([2, 3], m.Shape);
        Assert.Equal(2, m.Rank);
        Assert.Equal(6, m.Size);
        Assert.Equal([3, 2], m.T.Shape);
        Close([0.0, 3.0, 1.0, 4.0, 2.0, 5.0], m.T);
        Assert.Equal([3, 2], m.Reshape(-1, 2).Shape);
        var shape = m.Shape;
        shape[0] = 99; // a copy: the tensor is immutable
        Assert.Equal([2, 3], m.Shape);
    }

    [Fact]
    public void Indexer_Index_and_Range()
    {
        var m = Tensor.Arange(6).Reshape(3, 2);
        Close([2.0, 3.0], m[1]);
        Close(3.0, m[1][1]);
        Close([4.0, 5.0], m[-1]);
        Close([4.0, 5.0], m[^1]);
        Assert.Equal(3, m.Length);
        Close([2.0, 3.0, 4.0, 5.0], m[1..]);
        Close([0.0, 1.0], m[..^2]);
        Assert.Equal([0, 2], m[1..1].Shape);
        Close([1.0, 2.0], X[..2]);
    }

    [Fact]
    public void Reading_values()
    {
        double[] values = X.ToArray();
        values[0] = 99.0; // a copy
        Assert.Equal([1.0, 2.0, 4.0], X.ToArray());
        Assert.Equal(DType.Float64, X.DType);
        Assert.Equal("[1. 2. 4.]", X.ToString());
        Assert.Equal("6.0", Tensor.Scalar(6.0).ToString());
    }

    [Fact]
    public void Reading_a_number_inside_Grad_gives_the_primal_so_if_works()
    {
        Func<Tensor, Tensor> relu = x => (double)x > 0 ? x : 0.0 * x;
        Close(1.0, Grad(relu)(2.0));
        Close(0.0, Grad(relu)(-2.0));
    }

    [Fact]
    public void Composite_ops_are_extension_methods()
    {
        var s = X.Softmax();
        Close(1.0, s.Sum());
        Close(Math.Log(X.ToArray().Sum(Math.Exp)), X.LogSumExp());
        Close(Math.Sqrt(21.0), X.Norm());
        Close([0.0, 1.0], Tensor.Of(-1.0, 1.0).Relu());
    }
}
