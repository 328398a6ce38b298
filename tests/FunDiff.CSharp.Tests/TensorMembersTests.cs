using FunDiff;
using static FunDiff.Fn;
using static FunDiff.CSharp.Tests.Support;

namespace FunDiff.CSharp.Tests;

/// <summary>
/// The C# members that complete Tensor's surface: comparisons with a tensor or a number,
/// <c>StopGradient</c>, <c>Convert</c>, <c>Flatten</c>, <c>ExpandDims</c>, <c>BroadcastTo</c>,
/// <c>Squeeze(axis)</c>, <c>Transpose(axes)</c>, <c>SliceAxis</c>, <c>ToArray2D</c>, and the static
/// <c>Tensor.Stack</c>, <c>Tensor.StackAxis</c>, <c>Tensor.Concat</c>; each against the F#
/// <c>Tensor</c> module function and known values, under Grad where it is differentiable.
/// </summary>
public class TensorMembersTests
{
    private static readonly Tensor A = Tensor.Of(1.0, 2.0, 3.0);
    private static readonly Tensor B = Tensor.Of(3.0, 2.0, 1.0);

    private static double[] Bools(Tensor t)
    {
        Assert.Equal(DType.Bool, t.DType);
        return t.ToArray();
    }

    [Fact]
    public void Comparisons_with_a_tensor_or_a_number_give_bool_tensors()
    {
        Assert.Equal([1.0, 0.0, 0.0], Bools(A.Lt(B)));
        Assert.Equal([1.0, 1.0, 0.0], Bools(A.Le(B)));
        Assert.Equal([0.0, 0.0, 1.0], Bools(A.Gt(B)));
        Assert.Equal([0.0, 1.0, 1.0], Bools(A.Ge(B)));
        Assert.Equal([0.0, 1.0, 0.0], Bools(A.Eq(B)));
        Assert.Equal([1.0, 0.0, 1.0], Bools(A.Ne(B)));

        Assert.Equal([1.0, 0.0, 0.0], Bools(A.Lt(2.0)));
        Assert.Equal([1.0, 1.0, 0.0], Bools(A.Le(2.0)));
        Assert.Equal([0.0, 0.0, 1.0], Bools(A.Gt(2.0)));
        Assert.Equal([0.0, 1.0, 1.0], Bools(A.Ge(2)));
        Assert.Equal([0.0, 1.0, 0.0], Bools(A.Eq(2.0)));
        Assert.Equal([1.0, 0.0, 1.0], Bools(A.Ne(2.0)));

        Same(TensorModule.lt(A, B), A.Lt(B));
        // broadcasting: a column against a row
        Assert.Equal([3, 3], A.Reshape(3, 1).Lt(B).Shape);
        // a mask selects with Where, and relu is x · (x > 0)
        Func<Tensor, Tensor> relu = x => (x * x.Gt(0.0)).Sum();
        Close([0.0, 1.0, 1.0], Grad(relu)(Tensor.Of(-1.0, 2.0, 3.0)));
        Same(Tensor.Of(3.0, 2.0, 3.0), A.Lt(B).Where(B, A));
    }

    [Fact]
    public void StopGradient_is_the_identity_with_a_zero_derivative()
    {
        Same(A, A.StopGradient());
        // d/dx (x · stop(x)) = stop(x), not 2x
        Same(A, Grad(x => (x * x.StopGradient()).Sum())(A));
        Same(Tensor.Zeros(3), Grad(x => x.StopGradient().Sum())(A));
    }

    [Fact]
    public void Convert_changes_the_dtype()
    {
        var i = Tensor.Of(1.7, -2.5).Convert(DType.Int64);
        Assert.Equal(DType.Int64, i.DType);
        Assert.Equal([1.0, -2.0], i.ToArray());
        Assert.Equal(DType.Float64, i.Convert(DType.Float64).DType);
    }

    [Fact]
    public void Flatten_ExpandDims_BroadcastTo_Squeeze_Transpose_and_SliceAxis_reshape_as_the_F_sharp_functions()
    {
        var m = Tensor.Arange(6).Reshape(2, 3);
        Assert.Equal([6], m.Flatten().Shape);
        Same(TensorModule.flatten(m), m.Flatten());

        Assert.Equal([1, 2, 3], m.ExpandDims(0).Shape);
        Assert.Equal([2, 3, 1], m.ExpandDims(-1).Shape);
        Assert.Equal([2, 1, 3], m.ExpandDims(1).Shape);
        Assert.Throws<ShapeException>(() => m.ExpandDims(3));

        var b = A.BroadcastTo(2, 3);
        Assert.Equal([2, 3], b.Shape);
        Assert.Equal([1.0, 2.0, 3.0, 1.0, 2.0, 3.0], b.ToArray());
        var e = Assert.Throws<ShapeException>(() => A.BroadcastTo(2, 4));
        Assert.Contains("broadcastTo", e.Message);

        Assert.Equal([2, 3], m.ExpandDims(1).Squeeze(1).Shape);
        Assert.Throws<ShapeException>(() => m.Squeeze(0));

        var t = Tensor.Arange(24).Reshape(2, 3, 4);
        Assert.Equal([3, 4, 2], t.Transpose(1, 2, 0).Shape);
        Same(TensorModule.transposeAxes([1, 2, 0], t), t.Transpose(1, 2, 0));
        Same(m.T, m.Transpose(1, 0));

        Assert.Equal([1.0, 2.0, 4.0, 5.0], m.SliceAxis(1, 1, 3).ToArray());
        Assert.Equal([2, 1], m.SliceAxis(-1, -1, 10).Shape);
        Same(TensorModule.sliceAxis(1, 0, 2, m), m.SliceAxis(1, 0, 2));

        Assert.Equal(new[,] { { 0.0, 1.0, 2.0 }, { 3.0, 4.0, 5.0 } }, m.ToArray2D());
        Assert.Throws<ShapeException>(() => A.ToArray2D());

        // differentiable: the gradient of a broadcast sums back
        Same(Tensor.Of(2.0, 2.0, 2.0), Grad(x => x.BroadcastTo(2, 3).Sum())(A));
        Same(Tensor.Ones(2, 3), Grad(x => x.Flatten().ExpandDims(0).Sum())(m));
    }

    [Fact]
    public void Stack_StackAxis_and_Concat_join_tensors_and_are_differentiable()
    {
        var s = Tensor.Stack(A, B);
        Assert.Equal([2, 3], s.Shape);
        Same(TensorModule.stack(Microsoft.FSharp.Collections.ListModule.OfArray(new[] { A, B })), s);
        Assert.Equal([3, 2], Tensor.StackAxis(1, A, B).Shape);
        Assert.Equal([1.0, 3.0, 2.0, 2.0, 3.0, 1.0], Tensor.StackAxis(-1, A, B).ToArray());
        Assert.Equal([3], Tensor.Stack(1.0, 2.0, 3.0).Shape);        // numbers convert to scalars

        var c = Tensor.Concat(0, A, B);
        Assert.Equal([1.0, 2.0, 3.0, 3.0, 2.0, 1.0], c.ToArray());
        var m = Tensor.Arange(6).Reshape(2, 3);
        Assert.Equal([2, 6], Tensor.Concat(1, m, m).Shape);
        Assert.Equal([4, 3], Tensor.Concat(0, m, m).Shape);

        // d/da Σ stack(a, 2a)·w = w₀ + 2 w₁
        var w = Tensor.FromArray(new[,] { { 1.0, 2.0, 3.0 }, { 4.0, 5.0, 6.0 } });
        Same(Tensor.Of(9.0, 12.0, 15.0), Grad(a => (Tensor.Stack(a, 2.0 * a) * w).Sum())(A));
        Same(Tensor.Of(9.0, 12.0, 15.0), Grad(a => (Tensor.Concat(0, a, 2.0 * a) * w.Flatten()).Sum())(A));
    }

    [Fact]
    public void Stack_and_Concat_raise_ShapeException_for_bad_input()
    {
        Assert.Throws<ShapeException>(() => Tensor.Stack());
        Assert.Throws<ShapeException>(() => Tensor.Stack(A, Tensor.Of(1.0, 2.0)));
        Assert.Throws<ShapeException>(() => Tensor.StackAxis(2, A, B));
        Assert.Throws<ShapeException>(() => Tensor.Concat(0));
        var e = Assert.Throws<ShapeException>(() => Tensor.Concat(0, 1.0, 2.0));
        Assert.Contains("scalar", e.Message);
        Assert.Throws<ShapeException>(() => Tensor.Concat(0, Tensor.Zeros(2, 3), Tensor.Zeros(2, 4)));
        Assert.Throws<ShapeException>(() => Tensor.Concat(2, A, B));
    }
}
