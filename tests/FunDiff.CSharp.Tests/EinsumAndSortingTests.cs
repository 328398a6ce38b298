using FunDiff;
using static FunDiff.Fn;

namespace FunDiff.CSharp.Tests;

/// <summary>
/// <c>Ops.Einsum</c> and <c>TensorDot</c> from C#: against MatMul and known values, and under Grad.
/// </summary>
public class EinsumTests
{
    private static readonly Tensor A = Tensor.OfArray([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).Reshape(2, 3);
    private static readonly Tensor B = Tensor.OfArray([1.0, 0.0, -1.0, 2.0, 0.5, 1.0]).Reshape(3, 2);

    [Fact]
    public void Einsum_is_a_matrix_product_a_trace_and_differentiable()
    {
        Assert.Equal(A.MatMul(B).ToArray(), Ops.Einsum("ij,jk->ik", A, B).ToArray());
        var square = A.MatMul(B);
        Assert.Equal(square.ToArray()[0] + square.ToArray()[3], (double)Ops.Einsum("ii", square));
        // d/dB of sum(A·B) is Aᵀ·1: each row of the gradient is the column sum of A
        var g = Grad(b => Ops.Einsum("ij,jk->", A, b))(B);
        Assert.Equal([5.0, 5.0, 7.0, 7.0, 9.0, 9.0], g.ToArray());
    }

    [Fact]
    public void TensorDot_pairs_axes_or_takes_a_count()
    {
        Assert.Equal(A.MatMul(B).ToArray(), A.TensorDot(B, 1).ToArray());
        Assert.Equal(A.MatMul(B).ToArray(), A.TensorDot(B, [1], [0]).ToArray());
        Assert.Throws<ShapeException>(() => A.TensorDot(B, [0], [0]));
    }
}

/// <summary>Sorting from C#: Sort, Argsort, TopK, SearchSorted, TakeAlongAxis.</summary>
public class SortingTests
{
    [Fact]
    public void Sort_TopK_and_SearchSorted_give_NumPy_results()
    {
        var x = Tensor.Of(3.0, 1.0, 2.0);
        Assert.Equal([1.0, 2.0, 3.0], x.Sort().ToArray());
        Assert.Equal([1.0, 2.0, 0.0], x.Argsort().ToArray());
        var (values, indices) = x.TopK(2);
        Assert.Equal([3.0, 2.0], values.ToArray());
        Assert.Equal([0.0, 2.0], indices.ToArray());
        Assert.Equal([1.0, 1.0], Tensor.Of(1.0, 2.0, 3.0).SearchSorted(Tensor.Of(1.5, 2.0)).ToArray());
        Assert.Equal([1.0, 2.0], Tensor.Of(1.0, 2.0, 3.0).SearchSorted(Tensor.Of(1.5, 2.0), right: true).ToArray());
        Assert.Equal([2.0, 3.0], x.TakeAlongAxis(0, Tensor.Of(2.0, 0.0).Convert(DType.Int64)).ToArray());
        // the gradient of a weighted sort puts each weight back where its element came from
        var g = Grad(t => (t.Sort() * Tensor.Of(1.0, 10.0, 100.0)).Sum())(x);
        Assert.Equal([100.0, 1.0, 10.0], g.ToArray());
    }
}

/// <summary>Index updates and masks from C#: AtSet, AtAdd, Extract.</summary>
public class IndexUpdateTests
{
    [Fact]
    public void AtSet_AtAdd_and_Extract_give_new_tensors()
    {
        var x = Tensor.Of(1.0, 2.0, 3.0);
        var i = Tensor.Of(0.0, 0.0).Convert(DType.Int64);
        Assert.Equal([20.0, 2.0, 3.0], x.AtSet(i, Tensor.Of(10.0, 20.0)).ToArray());
        Assert.Equal([31.0, 2.0, 3.0], x.AtAdd(i, Tensor.Of(10.0, 20.0)).ToArray());
        Assert.Equal([2.0, 3.0], x.Extract(x.Gt(1.5)).ToArray());
        Assert.Equal([200.0, 2.0, 3.0], x.AtMul(i, Tensor.Of(10.0, 20.0)).ToArray());
        Assert.Equal([1.0, 2.0, 3.0], x.AtMin(i, Tensor.Of(10.0, 20.0)).ToArray());
        Assert.Equal([20.0, 2.0, 3.0], x.AtMax(i, Tensor.Of(10.0, 20.0)).ToArray());
        Assert.Equal([1.0, 2.0, 3.0], x.ToArray());
    }
}
