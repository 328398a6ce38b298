using FunDiff;
using static FunDiff.Fn;
using static FunDiff.CSharp.Tests.Support;

namespace FunDiff.CSharp.Tests;

/// <summary>
/// The C# members of issue 16's NumPy ops (rounding and tests, activations, pad and the
/// rearranging ops, cumulative products and extremes), against the F# <c>Tensor</c> module
/// and NumPy's documented values.
/// </summary>
public class NumpyOpsTests
{
    private static readonly Tensor V = Tensor.Of(0.5, 1.5, 2.5, -0.5);

    [Fact]
    public void Rounding_and_tests()
    {
        Assert.Equal([0.0, 2.0, 2.0, -0.0], V.Round().ToArray());
        Assert.Equal([0.0, 1.0, 2.0, -1.0], V.Floor().ToArray());
        Assert.Equal([1.0, 2.0, 3.0, -0.0], V.Ceil().ToArray());
        Assert.Equal([0.0, 1.0, 2.0, -0.0], V.Trunc().ToArray());
        var special = Tensor.Of(1.0, double.NaN, double.PositiveInfinity);
        Assert.Equal([0.0, 1.0, 0.0], special.IsNan().ToArray());
        Assert.Equal([0.0, 0.0, 1.0], special.IsInf().ToArray());
        Assert.Equal([1.0, 0.0, 0.0], special.IsFinite().ToArray());
        Assert.Equal([1.0, 0.0, double.MaxValue], special.NanToNum().ToArray());
        Assert.Equal([1.0, -1.0, 9.0], special.NanToNum(-1.0, 9.0, -9.0).ToArray());
        Same(Tensor.Zeros(4), Grad(x => x.Round().Sum())(V));
    }

    [Fact]
    public void Activations()
    {
        Assert.Equal(0.5, (double)Grad(x => x.Gelu())(Tensor.Scalar(0.0)));
        Same(TensorModule.geluTanh(V), V.GeluTanh());
        Same(TensorModule.silu(V), V.Silu());
        Close([1000.0 + Math.Log(2.0)], Tensor.Of(1000.0).LogAddExp(Tensor.Of(1000.0)));
        Close([1e200 * Math.Sqrt(2.0)], Tensor.Of(1e200).Hypot(Tensor.Of(1e200)));
        Assert.Equal(0.0, (double)Tensor.Scalar(0.5).Logit());
        Assert.Equal(0.0, (double)Tensor.Scalar(0.0).XLogY(Tensor.Scalar(0.0)));
    }

    [Fact]
    public void Pad_and_rearranging()
    {
        var x = Tensor.Of(1.0, 2.0, 3.0);
        Assert.Equal([0.0, 1.0, 2.0, 3.0, 0.0, 0.0], x.Pad([(1, 2)], 0.0).ToArray());
        Assert.Equal([1.0, 1.0, 2.0, 3.0, 3.0], x.PadEdge([(1, 1)]).ToArray());
        Assert.Equal([3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0], x.PadReflect([(2, 2)]).ToArray());
        Assert.Equal([3.0, 2.0, 1.0], x.Flip(0).ToArray());
        Assert.Equal([3.0, 1.0, 2.0], x.Roll(1, 0).ToArray());
        Assert.Equal([1.0, 2.0, 3.0, 1.0, 2.0, 3.0], x.Tile(2).ToArray());
        Assert.Equal([1.0, 1.0, 2.0, 2.0, 3.0, 3.0], x.Repeat(2, 0).ToArray());
        Assert.Equal([1.0, 1.0], x.Diff(1, 0).ToArray());
        Assert.Equal([1.0, 3.0, 3.0, 3.0], x.RepeatEach([1, 0, 3], 0).ToArray());
        Close([1.0, 0.0, 3.0], Grad(t => t.RepeatEach([1, 0, 3], 0).Sum())(x));
        var flags = Tensor.Of(1.0, 0.0, 0.0, 1.0).Convert(DType.Bool);
        Assert.Equal(DType.Bool, flags.Diff(1, 0).DType);
        Assert.Equal([1.0, 0.0, 1.0], flags.Diff(1, 0).ToArray());
        var grid = TensorExtensions.Meshgrid(x, Tensor.Of(4.0, 5.0));
        Assert.Equal([2, 3], grid[0].Shape);
        Assert.Equal([3, 2], TensorExtensions.MeshgridIJ(x, Tensor.Of(4.0, 5.0))[0].Shape);
    }

    [Fact]
    public void Integer_array_indexing_of_the_leading_axes()
    {
        var m = Tensor.FromArray(new[,] { { 1.0, 2.0, 3.0 }, { 4.0, 5.0, 6.0 } });
        var rows = Tensor.Of(1.0, 0.0, -1.0).Convert(DType.Int64);
        var cols = Tensor.Of(2.0, 0.0, 1.0).Convert(DType.Int64);
        // NumPy: m[[1, 0, -1], [2, 0, 1]] = [6, 1, 5]
        Assert.Equal([6.0, 1.0, 5.0], m.Index(rows, cols).ToArray());
        Assert.Equal([3, 3], m.Index(rows).Shape);
        Assert.Equal([1.0, 0.0, 0.0, 0.0, 1.0, 1.0], Grad(x => x.Index(rows, cols).Sum())(m).ToArray());
        Assert.Throws<ShapeException>(() => m.Index(Tensor.Of(2.0).Convert(DType.Int64)));
    }

    [Fact]
    public void Cumulative_products_and_extremes()
    {
        var z = Tensor.Of(2.0, 0.0, 3.0);
        Assert.Equal([2.0, 0.0, 0.0], z.CumProd().ToArray());
        // d/dx Σ cumprod at [2, 0, 3]: [1 + x1 + x1 x2, x0 + x0 x2, x0 x1] = [1, 8, 0]
        Close([1.0, 8.0, 0.0], Grad(x => x.CumProd().Sum())(z));
        var m = Tensor.FromArray(new[,] { { 1.0, 5.0, 2.0 }, { 4.0, 0.0, 6.0 } });
        Assert.Equal([1.0, 5.0, 5.0, 4.0, 4.0, 6.0], m.CumMax(1).ToArray());
        Assert.Equal([1.0, 1.0, 1.0, 4.0, 0.0, 0.0], m.CumMin(1).ToArray());
        Assert.Equal([1.0, 5.0, 5.0, 5.0, 5.0, 6.0], m.CumMax().ToArray());
        Assert.Equal([1.0, 1.0, 1.0, 1.0, 0.0, 0.0], m.CumMin().ToArray());
        Same(TensorModule.cumprodAxis(0, m), m.CumProd(0));
    }
}
