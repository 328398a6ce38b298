using FunDiff;
using static FunDiff.Fn;
using static FunDiff.CSharp.Tests.Support;

namespace FunDiff.CSharp.Tests;

/// <summary>
/// Convolution and pooling from C#: <c>Conv</c>, <c>ConvTranspose</c>, <c>MaxPool</c> and
/// <c>AvgPool</c> with the fluent options, against the F# <c>Tensor</c> module, exact values and
/// the transpose identity, under <c>Grad</c>, <c>Vmap</c> and <c>Jit</c>.
/// </summary>
public class ConvolutionTests
{
    private static Tensor Random(int seed, params int[] shape)
    {
        var r = new Random(seed);
        var n = shape.Aggregate(1, (a, b) => a * b);
        return Tensor.Of(Enumerable.Range(0, n).Select(_ => r.NextDouble() * 2 - 1).ToArray()).Reshape(shape);
    }

    [Fact]
    public void Conv_matches_the_FSharp_module_and_exact_values()
    {
        var signal = Tensor.Of(1.0, 2.0, 3.0, 4.0).Reshape(1, 1, 4);
        var taps = Tensor.Of(1.0, 0.0, -1.0).Reshape(1, 1, 3);
        Assert.Equal([-2.0, -2.0], signal.Conv(taps).ToArray());

        var x = Random(1, 2, 4, 7, 6);
        var w = Random(2, 6, 2, 3, 3);
        var options = ConvOptions.Default.WithStrides(2, 1).WithPadding(ConvPadding.Same).WithDilation(1, 2).WithGroups(2);
        var y = x.Conv(w, options);
        Assert.Equal([2, 6, 4, 6], y.Shape);
        Same(TensorModule.convWith(options, x, w), y);
    }

    [Fact]
    public void ConvTranspose_is_the_gradient_of_conv_in_its_input()
    {
        var x = Random(3, 1, 3, 9, 8);
        var w = Random(4, 4, 3, 3, 3);
        var options = ConvOptions.Default.WithStrides(2).WithPadding(ConvPadding.Symmetric(1));
        var y = x.Conv(w, options);
        var cotangent = Random(5, y.Shape);
        // 8 and 7 columns both give 4 at stride 2: the output padding picks 8
        var back = cotangent.ConvTranspose(
            w, ConvTransposeOptions.Default.WithStrides(2).WithPadding(ConvPadding.Symmetric(1)).WithOutputPadding(0, 1));
        Assert.Equal(x.Shape, back.Shape);
        Close(Grad(z => (z.Conv(w, options) * cotangent).Sum())(x), back);
    }

    [Fact]
    public void Pooling_exact_values_and_gradient()
    {
        var x = Tensor.Arange(16).Reshape(1, 1, 4, 4);
        Assert.Equal([5.0, 7.0, 13.0, 15.0], x.MaxPool([2, 2]).ToArray());
        Assert.Equal([2.5, 4.5, 10.5, 12.5], x.AvgPool([2, 2]).ToArray());
        var overlapping = PoolOptions.Default.WithStrides(1).WithPadding(ConvPadding.Same);
        Assert.Equal([1, 1, 4, 4], x.MaxPool([3, 3], overlapping).Shape);
        Same(TensorModule.avgPoolWith(Microsoft.FSharp.Collections.ListModule.OfArray([3, 3]), overlapping, x),
            x.AvgPool([3, 3], overlapping));
        var g = Grad(t => t.MaxPool([2, 2]).Sum())(x).ToArray();
        Assert.Equal(4.0, g.Sum());
        Assert.Equal(1.0, g[15]);
    }

    [Fact]
    public void Conv_under_Vmap_and_Jit()
    {
        var w = Random(6, 2, 1, 3);
        var xs = Random(7, 4, 1, 1, 8);
        Func<Tensor, Tensor> f = x => x.Conv(w).Tanh();
        var batched = Vmap(f)(xs);
        for (var k = 0; k < 4; k++)
            Close(f(xs[k]), batched[k]);
        var loss = Grad((Tensor v) => v.Conv(w).Square().Sum());
        Close(loss(xs[0]), Jit(loss)(xs[0]));
    }
}
